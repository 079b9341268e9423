#include "ops/cuda_module.h"

#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <vector>

#include "core/error.h"

namespace frugal {
namespace {

#ifdef FRUGAL_HAS_CUDA
constexpr const char* kModuleName = "libfrugal_cuda.so";

// Where the module may be, first found first: FRUGAL_CUDA_MODULE (a path) overrides; then beside the
// executable (the build folder, or an installed bin/), its ../lib, and the build folder it was built in.
std::vector<std::string> candidate_paths() {
  if (const char* forced = std::getenv("FRUGAL_CUDA_MODULE"); forced && *forced) return {forced};
  std::vector<std::string> paths;
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    paths.push_back((exe.parent_path() / kModuleName).string());
    paths.push_back((exe.parent_path().parent_path() / "lib" / kModuleName).string());
  }
#ifdef FRUGAL_CUDA_MODULE_PATH
  paths.push_back(FRUGAL_CUDA_MODULE_PATH);
#endif
  return paths;
}

struct Module {
  void* handle = nullptr;
  std::string why;  // why it could not be loaded
};

const Module& module() {
  static Module m;
  static std::once_flag once;
  std::call_once(once, [] {
    std::string tried;
    for (const std::string& path : candidate_paths()) {
      std::error_code ec;
      if (!std::filesystem::exists(path, ec)) {
        tried += (tried.empty() ? "" : ", ") + path + " (absent)";
        continue;
      }
      // RTLD_NOW: a module that does not fit this executable fails here, with the symbol named, rather
      // than at its first call.
      m.handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (m.handle) return;
      const char* error = dlerror();
      tried += (tried.empty() ? "" : ", ") + path + " (" + (error ? error : "unknown error") + ")";
    }
    m.why = std::string("the CUDA backend module ") + kModuleName + " could not be loaded: tried " +
            (tried.empty() ? std::string("nothing") : tried) +
            "; set FRUGAL_CUDA_MODULE to its path, or rebuild (docs/design.md)";
  });
  return m;
}
#endif

}  // namespace

void* cuda_module_symbol(const char* name, std::string* why) {
#ifdef FRUGAL_HAS_CUDA
  const Module& m = module();
  if (!m.handle) {
    if (why) *why = m.why;
    return nullptr;
  }
  void* symbol = dlsym(m.handle, name);
  if (!symbol && why) *why = std::string("the CUDA backend module has no entry point ") + name + " (an older build?)";
  return symbol;
#else
  if (why) *why = "this build of frugal has no CUDA backend (built without nvcc)";
  return nullptr;
#endif
}

void* require_cuda_module_symbol(const char* name) {
  std::string why;
  void* symbol = cuda_module_symbol(name, &why);
  if (!symbol) throw ConfigError("device 'cuda': " + why);
  return symbol;
}

}  // namespace frugal
