// Checks of output locations, made before the work whose results they will hold starts: a run that
// cannot write its results should fail in its first second, not after an epoch.
#pragma once
#include <string>

namespace frugal {

// Creates `dir` and its parents when missing. IoError naming the path when it cannot be created (a
// parent is a regular file, no permission) or exists but is not a writable directory.
void prepare_output_dir(const std::string& dir);

// Makes sure `file` can be written later: its folder is prepared as above and `file` itself, if it
// exists, is not a directory. IoError naming the path otherwise.
void check_output_file(const std::string& file);

}  // namespace frugal
