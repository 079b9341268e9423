// The folder dependencies, read from every #include of the source tree:
//   cli -> training -> {ops, memory, datasets} -> core
// (each folder also includes itself), backend headers (ops/cpu/, ops/cuda/) stay behind the kernel
// interface of ops/kernels.h, and CUDA's own headers appear only in ops/cuda/ and in the NCCL backend of
// the communicator (training/distributed/cuda/), which reduces gradients on the kernels' CUDA stream.
// A failure names the file, the line and the include.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

namespace {
namespace fs = std::filesystem;

struct Include {
  std::string file;  // relative to the source root, '/'-separated
  int line = 0;
  std::string target;  // as written between the quotes or brackets
  bool quoted = false;
};

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

bool is_source(const fs::path& p) {
  static const std::set<std::string> kExtensions{".h", ".hpp", ".cpp", ".cc", ".cu", ".cuh", ".inc"};
  return kExtensions.count(p.extension().string()) > 0;
}

// Every #include of every C++ and CUDA file under `root`, skipping hidden folders (.git) and build folders.
std::vector<Include> all_includes(const fs::path& root) {
  static const std::regex kInclude(R"(^\s*#\s*include\s*([<"])([^>"]+)[>"])");
  std::vector<Include> out;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    const std::string name = it->path().filename().string();
    if (it->is_directory() && (starts_with(name, ".") || starts_with(name, "build"))) {
      it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file() || !is_source(it->path())) continue;
    const std::string rel = fs::relative(it->path(), root).generic_string();
    std::ifstream in(it->path());
    std::string text;
    for (int line = 1; std::getline(in, text); ++line) {
      std::smatch m;
      if (std::regex_search(text, m, kInclude)) out.push_back({rel, line, m[2].str(), m[1].str() == "\""});
    }
  }
  return out;
}

const std::vector<Include>& tree_includes() {
  static const std::vector<Include> includes = all_includes(FRUGAL_SOURCE_PATH);
  return includes;
}

const std::set<std::string> kFolders{"cli", "training", "ops", "memory", "datasets", "core"};

// The project folder an include path or a file lies in, or "" for anything else (<memory>, <vector>).
std::string folder_of(const std::string& path) {
  const size_t slash = path.find('/');
  if (slash == std::string::npos) return "";
  const std::string first = path.substr(0, slash);
  return kFolders.count(first) ? first : "";
}

std::string where(const Include& inc) {
  return inc.file + ":" + std::to_string(inc.line) + " includes " + (inc.quoted ? "\"" : "<") + inc.target +
         (inc.quoted ? "\"" : ">");
}

TEST(IncludeRules, TheScanSeesTheSourceTree) {
  // Guards the other tests against passing on an empty or wrong tree.
  bool found = false;
  for (const Include& inc : tree_includes())
    found = found || (inc.file == "core/tensor.cpp" && inc.target == "core/tensor.h");
  EXPECT_TRUE(found) << "no include of core/tensor.h in core/tensor.cpp under " << FRUGAL_SOURCE_PATH;
}

TEST(IncludeRules, FoldersIncludeOnlyTheFoldersBelowThem) {
  const std::map<std::string, std::set<std::string>> may_include{
      {"core", {"core"}},
      {"ops", {"ops", "core"}},
      {"memory", {"memory", "core"}},
      {"datasets", {"datasets", "core"}},
      {"training", {"training", "ops", "memory", "datasets", "core"}},
      {"cli", kFolders},
  };
  for (const Include& inc : tree_includes()) {
    const std::string from = folder_of(inc.file), to = folder_of(inc.target);
    if (from.empty() || to.empty()) continue;
    EXPECT_TRUE(may_include.at(from).count(to)) << where(inc) << ": " << from << "/ may not include " << to << "/";
  }
}

TEST(IncludeRules, ProjectHeadersAreIncludedByTheirPathFromTheRoot) {
  // A relative include ("bitpack.h", "../core/shape.h") would hide its folder from the rules here.
  for (const Include& inc : tree_includes()) {
    if (!inc.quoted || folder_of(inc.file).empty()) continue;
    EXPECT_FALSE(inc.target.find('/') == std::string::npos || starts_with(inc.target, "."))
        << where(inc) << ": write the path from the source root (e.g. \"core/shape.h\")";
  }
}

TEST(IncludeRules, BackendHeadersStayInsideTheBackends) {
  // Everything else reaches the kernels through ops/kernels.h. ops/kernels.cpp hands out the backends;
  // the kernel tests and the conv benchmark test the CPU and CUDA kernels themselves.
  const std::vector<std::string> allowed{"ops/cpu/",   "ops/cuda/",   "ops/kernels.cpp", "training/distributed/cuda/",
                                         "tests/ops/", "tests/cuda/", "scripts/bench/"};
  for (const Include& inc : tree_includes()) {
    if (!starts_with(inc.target, "ops/cpu/") && !starts_with(inc.target, "ops/cuda/")) continue;
    bool ok = false;
    for (const std::string& prefix : allowed) ok = ok || starts_with(inc.file, prefix);
    EXPECT_TRUE(ok) << where(inc) << ": outside ops/cpu/ and ops/cuda/, use the kernel interface (ops/kernels.h)";
  }
}

TEST(IncludeRules, CudaHeadersOnlyInOpsCuda) {
  static const std::regex kCudaHeader(
      R"(^(cuda|cublas|cudnn|curand|cusparse|cufft|cusolver|nvrtc|nvtx|cooperative_groups)[A-Za-z0-9_]*(\.h|\.hpp)?$|^(thrust|cub|cuda)/)");
  for (const Include& inc : tree_includes()) {
    if (starts_with(inc.file, "ops/cuda/") || starts_with(inc.file, "training/distributed/cuda/") ||
        !std::regex_search(inc.target, kCudaHeader))
      continue;
    ADD_FAILURE() << where(inc) << ": CUDA headers belong in ops/cuda/ (and the NCCL communicator) only";
  }
}

}  // namespace
