// Runs of a sweep are separate processes (`frugal train`), so each has its own peak RSS, log and thread
// settings, and a failing run does not take the sweep down. POSIX only.
#pragma once
#include <sys/types.h>

#include <string>
#include <vector>

namespace frugal {

// Starts argv[0] with `argv`, stdout and stderr appended to `output_file`. The child is sent SIGTERM
// when this process dies (prctl PR_SET_PDEATHSIG), so a killed sweep leaves no run behind; it inherits
// the open file descriptors (the sweep's lock among them). IoError when fork fails; a failed exec shows
// as exit code 127.
pid_t start_child(const std::vector<std::string>& argv, const std::string& output_file);

struct ChildExit {
  pid_t pid = -1;
  int exit_code = -1;  // when it exited
  int signal = 0;      // when a signal ended it
};

// Waits for any child of this process to end.
ChildExit wait_for_child();

}  // namespace frugal
