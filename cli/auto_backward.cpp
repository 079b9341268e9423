#include "cli/auto_backward.h"

#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "core/error.h"
#include "core/io/atomic_file.h"
#include "core/log.h"
#include "training/budget/auto_plan.h"
#include "training/process_memory.h"

namespace frugal::cli {

nlohmann::json apply_auto_backward(nlohmann::json& config, const std::string& run_dir) {
  if (!wants_auto_backward(config)) return nullptr;
  const std::string request = run_dir + "/auto_plan_config.json";
  write_file_atomic(request, config.dump(2) + "\n");
  log().info("backward.auto: planning every layer's backward mode for memory.budget_mb = {} MiB (frugal plan)",
             config.at("memory").at("budget_mb").get<double>());
  // Set before the fork (the child may only exec): this process's own figure was taken at start-up.
  setenv(kStartupResidentEnv, std::to_string(startup_resident_bytes()).c_str(), 1);
  const pid_t child = fork();
  FRUGAL_CHECK(child >= 0, InternalError, "backward.auto: cannot start the planner process");
  if (child == 0) {
    const char* argv[] = {"frugal", "plan", "--config", request.c_str(), "--output", run_dir.c_str(), nullptr};
    execv("/proc/self/exe", const_cast<char* const*>(argv));
    _exit(127);
  }
  int status = 0;
  waitpid(child, &status, 0);
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
  if (code == 2)
    throw MemoryBudgetError("backward.auto: no plan fits memory.budget_mb (the planner's message is above)");
  FRUGAL_CHECK(code == 0, InternalError, "backward.auto: the planner process failed (exit " + std::to_string(code) + ")");
  std::ifstream in(run_dir + "/auto_plan.json");
  nlohmann::json plan = nlohmann::json::parse(in, nullptr, false);
  FRUGAL_CHECK(plan.is_object() && plan.contains("backward"), InternalError,
               "backward.auto: " + run_dir + "/auto_plan.json holds no plan");
  config["backward"] = plan.at("backward");
  config["train"]["micro_batches"] = plan.at("micro_batches");
  plan.erase("backward");
  return plan;
}

}  // namespace frugal::cli
