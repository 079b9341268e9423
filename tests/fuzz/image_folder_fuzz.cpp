// Fuzz target: indexing an image folder. The input is a flags byte, a listing (one path a line, relative
// to the dataset root; a trailing '/' makes a folder) and the bytes every listed file gets (usually a
// JPEG). Flag bits: 0-4 the crop size (1..32), 5 open the test split, 6-7 the sample limit. The folder
// goes through ImageFolderDataset (index, class list shared with train/, the first samples) and
// `frugal data info`.
#include <filesystem>
#include <sstream>
#include <vector>

#include "datasets/dataset.h"
#include "datasets/image_folder.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

// A listing line is used when it stays inside the root: no absolute paths, no "." or ".." parts.
bool usable(const std::string& line) {
  if (line.empty() || line.size() > 200 || line[0] == '/' || line.find('\0') != std::string::npos) return false;
  std::istringstream parts(line);
  for (std::string part; std::getline(parts, part, '/');)
    if (part.empty() || part == "." || part == "..") return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace frugal::fuzz;
  namespace fs = std::filesystem;
  static Scratch scratch("image_folder");
  Parts parts(data, size);
  const uint8_t flags = parts.flags();
  std::istringstream listing(parts.next());
  const std::string contents = parts.next();
  const int64_t crop = 1 + (flags & 31), limit = (flags >> 6) & 3;
  const frugal::Split split = (flags & 32) ? frugal::Split::Test : frugal::Split::Train;
  scratch.clear();
  const fs::path root = scratch.path("root");
  fs::create_directories(root);
  int entries = 0;
  for (std::string line; std::getline(listing, line) && entries < 64;) {
    const bool folder = !line.empty() && line.back() == '/';
    if (folder) line.pop_back();
    if (!usable(line)) continue;
    ++entries;
    std::error_code ec;  // a listing may ask for a file where a folder is, or the reverse: skip those
    if (folder) {
      fs::create_directories(root / line, ec);
    } else if (fs::create_directories((root / line).parent_path(), ec), !ec && !fs::exists(root / line, ec)) {
      scratch.write("root/" + line, contents);
    }
  }
  run_input([&] {
    frugal::ImageFolderOptions options;
    options.image_size = crop;
    options.limit = limit;
    frugal::ImageFolderDataset dataset(root.string(), split, options);
    std::vector<float> image(static_cast<size_t>(dataset.sample_shape().numel()));
    for (int64_t i = 0; i < dataset.size() && i < 2; ++i) {
      int32_t label = 0;
      dataset.get(i, image.data(), &label);
    }
  });
  return run_input([&] { frugal::describe_data_path(root.string()); });
}
