#include "datasets/image_folder.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "core/error.h"
#include "datasets/byte_image_dataset.h"
#include "datasets/file_bytes.h"
#include "datasets/jpeg.h"
#include "datasets/resize.h"

namespace frugal {
namespace fs = std::filesystem;
namespace {

std::vector<std::string> sorted_entries(const std::string& dir, bool directories) {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || name[0] == '.') continue;  // hidden files and folders
    std::error_code type_ec;
    const bool is_dir = it->is_directory(type_ec);
    if (is_dir == directories && (directories || is_jpeg_name(name))) names.push_back(name);
  }
  if (ec) throw DataError("cannot list image folder " + dir + ": " + ec.message());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

bool is_jpeg_name(const std::string& filename) {
  const size_t dot = filename.rfind('.');
  if (dot == std::string::npos) return false;
  std::string ext = filename.substr(dot + 1);
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext == "jpg" || ext == "jpeg";
}

std::string image_folder_split_dir(const std::string& root, Split split) {
  for (const char* name : split == Split::Train ? std::vector<const char*>{"train"}
                                                : std::vector<const char*>{"val", "test"}) {
    std::string dir = join_path(root, name);
    if (is_directory(dir)) return dir;
  }
  return "";
}

ImageFolderIndex index_image_folder(const std::string& split_dir,
                                    const std::vector<std::string>* classes) {
  if (!is_directory(split_dir)) throw DataError("image folder not found: " + split_dir);
  ImageFolderIndex index;
  index.dir = split_dir;
  const std::vector<std::string> found = sorted_entries(split_dir, /*directories=*/true);
  if (found.empty())
    throw DataError("empty image folder " + split_dir +
                    ": expected one subdirectory of JPEG files per class");
  index.classes = classes ? *classes : found;
  for (const auto& name : found) {
    auto pos = std::find(index.classes.begin(), index.classes.end(), name);
    if (pos == index.classes.end())
      throw DataError("class directory " + join_path(split_dir, name) +
                      " is not one of the training split's " +
                      std::to_string(index.classes.size()) + " classes");
    const int32_t label = static_cast<int32_t>(pos - index.classes.begin());
    const std::string class_dir = join_path(split_dir, name);
    const std::vector<std::string> files = sorted_entries(class_dir, /*directories=*/false);
    if (files.empty())
      throw DataError("empty image folder class " + class_dir + ": no .jpg/.jpeg files");
    for (const auto& file : files) {
      index.files.push_back(join_path(class_dir, file));
      index.labels.push_back(label);
    }
  }
  return index;
}

ImageFolderDataset::ImageFolderDataset(const std::string& root, Split split, int64_t image_size,
                                       int64_t limit)
    : split_(split), image_size_(image_size), resize_side_(image_size * 8 / 7) {
  if (image_size <= 0)
    throw ConfigError("data.image_size must be positive for image_folder datasets, found " +
                      std::to_string(image_size));
  const std::string dir = image_folder_split_dir(root, split);
  if (dir.empty())
    throw DataError("image folder " + root + " has no " +
                    (split == Split::Train ? "train/" : "val/ (or test/)") + " directory");
  if (split == Split::Train) {
    index_ = index_image_folder(dir);
  } else {
    // Labels must mean the same classes as in training, so take the class list from train/.
    const std::string train_dir = image_folder_split_dir(root, Split::Train);
    std::vector<std::string> classes;
    if (!train_dir.empty()) classes = sorted_entries(train_dir, /*directories=*/true);
    index_ = index_image_folder(dir, train_dir.empty() ? nullptr : &classes);
  }
  if (limit > 0 && limit < size()) {
    index_.files.resize(static_cast<size_t>(limit));
    index_.labels.resize(static_cast<size_t>(limit));
  }
}

void ImageFolderDataset::get(int64_t index, float* image, int32_t* label) const {
  check_sample_index(index, size(), index_.dir.c_str());
  const std::string& file = index_.files[static_cast<size_t>(index)];
  RgbImage decoded = decode_jpeg_file(file, resize_side_);
  resize_center_crop(decoded, resize_side_, image_size_, image);
  *label = index_.labels[static_cast<size_t>(index)];
}

std::string ImageFolderDataset::describe() const {
  return std::string("image_folder ") + split_name(split_) + " " + index_.dir + ": " +
         std::to_string(size()) + " samples, " + sample_shape().str() + ", " +
         std::to_string(num_classes()) + " classes";
}

}  // namespace frugal

namespace frugal {

size_t ImageFolderDataset::storage_bytes() const {  // the file list: images are decoded on demand
  size_t bytes = index_.labels.capacity() * sizeof(int32_t);
  for (const std::string& f : index_.files) bytes += sizeof(std::string) + f.capacity();
  for (const std::string& c : index_.classes) bytes += sizeof(std::string) + c.capacity();
  return bytes;
}

}  // namespace frugal
