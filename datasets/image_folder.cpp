#include "datasets/image_folder.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "core/error.h"
#include "core/log.h"
#include "datasets/byte_image_dataset.h"
#include "datasets/file_bytes.h"

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
    if (is_dir == directories && (directories || is_image_name(name))) names.push_back(name);
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

bool is_image_name(const std::string& filename) {
  if (is_jpeg_name(filename)) return true;
  const size_t dot = filename.rfind('.');
  if (dot == std::string::npos) return false;
  std::string ext = filename.substr(dot + 1);
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext == "png";
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
                    ": expected one subdirectory of JPEG/PNG files per class");
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
      throw DataError("empty image folder class " + class_dir + ": no .jpg/.jpeg/.png files");
    for (const auto& file : files) {
      index.files.push_back(join_path(class_dir, file));
      index.labels.push_back(label);
    }
  }
  return index;
}

ImageFolderDataset::ImageFolderDataset(const std::string& root, Split split, const ImageFolderOptions& opts)
    : split_(split), opts_(opts), resize_side_(opts.image_size * 8 / 7) {
  if (opts_.image_size <= 0)
    throw ConfigError("data.image_size must be positive for image_folder datasets, found " +
                      std::to_string(opts_.image_size));
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
  if (opts_.limit > 0 && opts_.limit < size()) {
    index_.files.resize(static_cast<size_t>(opts_.limit));
    index_.labels.resize(static_cast<size_t>(opts_.limit));
  }
}

void ImageFolderDataset::load_file(const std::string& file, const CropChooser& choose, float* image) const {
  thread_local std::vector<uint8_t> bytes;
  read_raw_file(file, &bytes);
  decode_photo_crop(bytes.data(), bytes.size(), file, choose, opts_.image_size, image);
}

void ImageFolderDataset::load(int64_t index, const CropChooser& choose, float* image, int32_t* label) const {
  check_sample_index(index, size(), index_.dir.c_str());
  for (int64_t tries = 0; tries < size(); ++tries) {
    const int64_t i = (index + tries) % size();
    const std::string& file = index_.files[static_cast<size_t>(i)];
    try {
      {
        std::lock_guard<std::mutex> lock(corrupt_mutex_);
        if (opts_.skip_corrupt && corrupt_.count(i)) continue;  // known bad: do not decode it again
      }
      load_file(file, choose, image);
      *label = index_.labels[static_cast<size_t>(i)];
      if (tries > 0) ++replaced_;
      return;
    } catch (const DataError& e) {
      if (!opts_.skip_corrupt) throw;
      std::lock_guard<std::mutex> lock(corrupt_mutex_);
      if (corrupt_.insert(i).second)
        log().warn("skipping corrupt image ({} so far; data.corrupt_images = skip): {}", corrupt_.size(), e.what());
    }
  }
  throw DataError("no image in " + index_.dir + " could be decoded (data.corrupt_images = skip)");
}

void ImageFolderDataset::get(int64_t index, float* image, int32_t* label) const {
  load(index, [&](int64_t w, int64_t h) { return center_crop_rect(w, h, resize_side_, opts_.image_size); }, image,
       label);
}

void ImageFolderDataset::get_random_resized_crop(int64_t index, const RandomResizedCropOptions& crop,
                                                 const RngKey& key, float* image, int32_t* label) const {
  // A replacement sample draws from the same key: the crop depends only on (key, the file used).
  load(index, [&](int64_t w, int64_t h) {
    RngSequence rng(key);
    return random_resized_crop_rect(w, h, crop, rng);
  }, image, label);
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
