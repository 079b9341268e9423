#include "training/runs/run_record.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

#include "core/error.h"

namespace frugal {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

json read_json_file(const fs::path& file) {
  std::ifstream in(file);
  if (!in) return nullptr;
  json j = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw DataError(file.string() + " is not valid JSON");
  return j;
}

// A killed run can leave a torn last line; lines that do not parse are skipped.
std::vector<json> read_json_lines(const fs::path& file) {
  std::vector<json> lines;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    json j = json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.is_object()) lines.push_back(std::move(j));
  }
  return lines;
}

std::optional<double> number_at(const json& j, const json::json_pointer& ptr) {
  if (j.is_null() || !j.contains(ptr)) return std::nullopt;
  const json& v = j.at(ptr);
  if (!v.is_number()) return std::nullopt;
  return v.get<double>();
}

}  // namespace

std::string RunRecord::status() const {
  if (summary.is_object() && summary.contains("status")) return summary.at("status").get<std::string>();
  return epochs.empty() ? "not started" : "partial";
}

std::optional<double> RunRecord::final_test_accuracy() const {
  if (auto v = number_at(summary, json::json_pointer("/test/accuracy"))) return v;
  for (auto it = epochs.rbegin(); it != epochs.rend(); ++it)
    if (auto v = number_at(*it, json::json_pointer("/test_accuracy"))) return v;
  return std::nullopt;
}

std::optional<double> RunRecord::final_test_loss() const {
  if (auto v = number_at(summary, json::json_pointer("/test/loss"))) return v;
  for (auto it = epochs.rbegin(); it != epochs.rend(); ++it)
    if (auto v = number_at(*it, json::json_pointer("/test_loss"))) return v;
  return std::nullopt;
}

std::optional<double> RunRecord::best_test_accuracy() const {
  std::optional<double> best = number_at(summary, json::json_pointer("/best_test_accuracy"));
  for (const json& e : epochs)
    if (auto v = number_at(e, json::json_pointer("/test_accuracy"))) best = std::max(best.value_or(*v), *v);
  return best;
}

std::optional<double> RunRecord::peak_planned_bytes() const {
  return number_at(memory, json::json_pointer("/peak_bytes"));
}

std::optional<double> RunRecord::stash_bytes() const {
  return number_at(memory, json::json_pointer("/extra/total_stash_bytes"));
}

std::optional<double> RunRecord::peak_rss_bytes() const {
  if (auto v = number_at(summary, json::json_pointer("/peak_rss_bytes"))) return v;
  return number_at(memory, json::json_pointer("/peak_rss_bytes"));
}

std::optional<double> RunRecord::images_per_second() const {
  if (auto v = number_at(summary, json::json_pointer("/images_per_second"))) return v;
  if (!epochs.empty()) return number_at(epochs.back(), json::json_pointer("/images_per_second"));
  return std::nullopt;
}

std::optional<double> RunRecord::step_seconds() const {
  double seconds = 0, steps = 0;
  for (const json& e : epochs) {
    auto s = number_at(e, json::json_pointer("/seconds"));
    auto n = number_at(e, json::json_pointer("/step"));
    if (!s || !n) return std::nullopt;
    seconds += *s;
    steps = *n;  // cumulative: the last line holds every step so far
  }
  if (steps <= 0) return std::nullopt;
  return seconds / steps;
}

std::optional<double> RunRecord::wall_seconds() const {
  return number_at(summary, json::json_pointer("/wall_seconds"));
}

std::string RunRecord::backward_modes() const {
  if (memory.is_null() || !memory.contains("by_layer")) return "";
  std::map<std::string, int> counts;
  std::vector<std::string> order;  // first appearance, to break ties stably
  for (const json& row : memory.at("by_layer")) {
    const std::string mode = row.value("mode", std::string());
    if (mode.empty()) continue;
    if (counts[mode]++ == 0) order.push_back(mode);
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](const std::string& a, const std::string& b) { return counts[a] > counts[b]; });
  std::string text;
  for (const std::string& mode : order) text += (text.empty() ? "" : ", ") + mode + " x" + std::to_string(counts[mode]);
  return text;
}

std::vector<std::pair<double, double>> RunRecord::curve(const std::string& key) const {
  std::vector<std::pair<double, double>> points;
  for (const json& e : epochs) {
    auto epoch = number_at(e, json::json_pointer("/epoch"));
    auto v = number_at(e, json::json_pointer("/" + key));
    if (epoch && v) points.emplace_back(*epoch, *v);
  }
  return points;
}

bool is_run_dir(const std::string& dir) {
  for (const char* f : {"config.json", "summary.json", "metrics.jsonl"})
    if (fs::exists(fs::path(dir) / f)) return true;
  return false;
}

bool is_sweep_dir(const std::string& dir) { return fs::exists(fs::path(dir) / "sweep.json"); }

RunRecord read_run(const std::string& dir, const std::string& label) {
  const fs::path root(dir);
  RunRecord r;
  r.dir = dir;
  r.config = read_json_file(root / "config.json");
  r.summary = read_json_file(root / "summary.json");
  r.memory = read_json_file(root / "memory.json");
  r.epochs = read_json_lines(root / "metrics.jsonl");
  r.label = label;
  if (r.label.empty() && r.config.is_object()) r.label = r.config.value("name", std::string());
  if (r.label.empty()) r.label = fs::path(dir).lexically_normal().filename().string();
  return r;
}

std::vector<RunRecord> collect_runs(const std::vector<std::string>& dirs) {
  std::vector<RunRecord> runs;
  for (const std::string& dir : dirs) {
    if (!fs::is_directory(dir)) throw DataError("compare: " + dir + " is not a directory");
    if (is_sweep_dir(dir)) {
      const json index = read_json_file(fs::path(dir) / "sweep.json");
      for (const json& run : index.value("runs", json::array()))
        runs.push_back(read_run((fs::path(dir) / run.at("dir").get<std::string>()).string(),
                                run.value("label", std::string())));
      continue;
    }
    if (is_run_dir(dir)) {
      runs.push_back(read_run(dir));
      continue;
    }
    std::vector<std::string> inside;
    for (const auto& entry : fs::directory_iterator(dir))
      if (entry.is_directory() && is_run_dir(entry.path().string())) inside.push_back(entry.path().string());
    if (inside.empty())
      throw DataError("compare: " + dir +
                      " holds no run (config.json, metrics.jsonl or summary.json) and is no sweep (sweep.json)");
    std::sort(inside.begin(), inside.end());
    for (const std::string& run : inside) runs.push_back(read_run(run));
  }
  return runs;
}

}  // namespace frugal
