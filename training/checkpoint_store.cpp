#include "training/checkpoint_store.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <system_error>

#include "core/error.h"
#include "core/io/atomic_file.h"
#include "core/io/output_paths.h"
#include "core/log.h"

namespace frugal {
namespace fs = std::filesystem;

namespace {

constexpr const char* kPrefix = "step-";
constexpr const char* kPartialPrefix = ".partial-";

// The step of a complete checkpoint folder's name ("step-00000016" -> 16), or -1.
int64_t step_of(const std::string& name) {
  if (name.rfind(kPrefix, 0) != 0) return -1;
  const std::string digits = name.substr(std::string(kPrefix).size());
  if (digits.empty() || digits.size() > 18 || digits.find_first_not_of("0123456789") != std::string::npos)
    return -1;
  return std::stoll(digits);
}

// Complete checkpoint folders by step, newest last.
std::map<int64_t, fs::path> complete_checkpoints(const std::string& folder) {
  std::map<int64_t, fs::path> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(folder, ec)) {
    const int64_t step = step_of(entry.path().filename().string());
    if (step >= 0 && entry.is_directory(ec)) out[step] = entry.path();
  }
  return out;
}

constexpr const char* kRemovingPrefix = ".removing-";

void remove_tree(const fs::path& p) {
  std::error_code ec;
  fs::remove_all(p, ec);
  if (ec) throw IoError("cannot remove '" + p.string() + "': " + ec.message());
}

// Removes a checkpoint folder (or the whole checkpoints/) so that a crash in the middle never leaves a
// half-removed folder under a complete name: it is first renamed away in one step, then deleted. What
// a crash leaves behind is removed by the next save (remove_leftovers).
void remove_atomically(const fs::path& p) {
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(p, ec))) return;
  if (fs::is_symlink(fs::symlink_status(p, ec))) return remove_tree(p);  // a link goes in one unlink
  const fs::path doomed = p.parent_path() / (kRemovingPrefix + p.filename().string());
  remove_tree(doomed);
  rename_durable(p.string(), doomed.string());
  remove_tree(doomed);
}

bool starts_with(const fs::path& p, const char* prefix) { return p.filename().string().rfind(prefix, 0) == 0; }

}  // namespace

CheckpointStore::CheckpointStore(std::string run_dir, int64_t keep, bool writes)
    : run_dir_(std::move(run_dir)), folder_(run_dir_ + "/checkpoints"), link_(run_dir_ + "/checkpoint"),
      keep_(keep), writes_(writes) {
  if (keep_ < 1) throw ConfigError("output.keep_checkpoints must be at least 1, got " + std::to_string(keep_));
}

std::string CheckpointStore::dir_for(int64_t step) const {
  char name[40];
  std::snprintf(name, sizeof name, "%s%08lld", kPrefix, static_cast<long long>(step));
  return folder_ + "/" + name;
}

bool CheckpointStore::legacy_folder() const {
  std::error_code ec;
  return fs::is_directory(fs::symlink_status(link_, ec)) && fs::is_regular_file(link_ + "/state.json", ec);
}

void CheckpointStore::check_layout() const {
  if (!writes_) return;
  std::error_code ec;
  const auto link_status = fs::symlink_status(link_, ec);
  if (fs::exists(link_status) && !fs::is_symlink(link_status) && !legacy_folder())
    throw IoError("'" + link_ + "' exists and is not the link to the newest checkpoint that frugal makes there (" +
                  (fs::is_directory(link_status) ? "a folder" : "a file") + "); move it away or choose another " +
                  "run directory");
  if (fs::exists(fs::symlink_status(folder_, ec)) && !fs::is_directory(folder_, ec))
    throw IoError("'" + folder_ + "' exists and is not a directory; move it away or choose another run directory");
}

void CheckpointStore::discard_earlier_run() {
  if (!writes_) return;
  check_layout();
  std::error_code ec;
  if (fs::exists(fs::symlink_status(link_, ec)) || fs::exists(folder_, ec)) {
    log().info("removing the checkpoints of an earlier run in {}", run_dir_);
    remove_atomically(link_);
    remove_atomically(folder_);
  }
  prepare_output_dir(folder_);
}

void CheckpointStore::open_for_resume() {
  if (!writes_) return;
  check_layout();
  // Runs of frugal before checkpoints/ kept their one checkpoint in the folder `checkpoint`: it becomes
  // the first of checkpoints/.
  if (legacy_folder()) {
    prepare_output_dir(folder_);
    const std::string dir = dir_for(read_checkpoint_position(link_).step);
    remove_atomically(dir);
    rename_durable(link_, dir);
    replace_symlink_atomic(link_, "checkpoints/" + fs::path(dir).filename().string());
  }
  prepare_output_dir(folder_);
  remove_leftovers();
}

void CheckpointStore::remove_leftovers() const {
  std::error_code ec;
  // A checkpoint being written, or a folder being removed, when a process died.
  for (const auto& entry : fs::directory_iterator(folder_, ec))
    if (starts_with(entry.path(), kPartialPrefix) || starts_with(entry.path(), kRemovingPrefix)) remove_tree(entry.path());
  // A link being switched, or checkpoints/ of an earlier run being removed.
  for (const auto& entry : fs::directory_iterator(run_dir_, ec))
    if (starts_with(entry.path(), "checkpoint.tmp.") || starts_with(entry.path(), kRemovingPrefix))
      remove_tree(entry.path());
}

void CheckpointStore::save(Experiment& e, const TrainingPosition& pos) {
  if (!writes_) {
    save_checkpoint(dir_for(pos.step), e, pos);  // gathers this rank's state; rank 0 writes it
    return;
  }
  remove_leftovers();
  const std::string final_dir = dir_for(pos.step);
  const std::string partial = folder_ + "/" + kPartialPrefix + fs::path(final_dir).filename().string();
  prepare_output_dir(partial);
  try {
    save_checkpoint(partial, e, pos);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(partial, ec);  // the previous checkpoints stay as they were
    throw;
  }
  // A folder of the same step exists when a run is resumed from an older checkpoint than one it had
  // written; training is deterministic, so it holds the same values: replace it.
  remove_atomically(final_dir);
  rename_durable(partial, final_dir);  // from here on, this checkpoint is the newest complete one
  replace_symlink_atomic(link_, "checkpoints/" + fs::path(final_dir).filename().string());
  prune();
}

void CheckpointStore::prune() const {
  auto all = complete_checkpoints(folder_);
  while (static_cast<int64_t>(all.size()) > keep_) {
    remove_atomically(all.begin()->second);
    all.erase(all.begin());
  }
}

std::optional<std::string> CheckpointStore::newest() const {
  auto all = complete_checkpoints(folder_);
  if (all.empty()) return std::nullopt;
  return all.rbegin()->second.string();
}

std::optional<TrainingPosition> CheckpointStore::load_newest(Experiment& e) const {
  auto all = complete_checkpoints(folder_);
  if (all.empty()) return std::nullopt;
  const std::string newest = all.rbegin()->second.string();
  try {
    return load_checkpoint(newest, e);
  } catch (const Error& err) {
    // Complete checkpoints are written whole before they get their name: this one was damaged since.
    // Going back silently would hide that; the user decides.
    std::string older = all.size() > 1 ? std::next(all.rbegin())->second.string() : "";
    throw DataError(std::string(err.what()) + "\n(the newest checkpoint " + newest + " cannot be loaded; " +
                    (older.empty() ? "remove it to start the run again" : "remove it to resume from " + older) + ")");
  }
}

}  // namespace frugal
