// ImageNet-style image folders: <root>/{train,val}/<class_name>/*.jpg|jpeg|JPEG. Classes are the
// subdirectory names sorted bytewise; files within a class are sorted by name. The file list is
// indexed at open; JPEGs are decoded lazily in get().
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "datasets/dataset.h"

namespace frugal {

struct ImageFolderIndex {
  std::string dir;                   // the split directory that was indexed
  std::vector<std::string> classes;  // label i is classes[i]
  std::vector<std::string> files;    // absolute paths, class-major
  std::vector<int32_t> labels;       // per file
};

bool is_jpeg_name(const std::string& filename);  // .jpg / .jpeg in any letter case

// The split's directory: root/train for Train; root/val, else root/test, for Test. "" when absent.
std::string image_folder_split_dir(const std::string& root, Split split);

// Indexes one split directory. `classes`, when given, fixes the label of each class name (the test
// split reuses the train split's classes, so labels agree); a class not in it is a DataError.
// DataError when the directory is missing, holds no class directories, or a class holds no JPEG.
ImageFolderIndex index_image_folder(const std::string& split_dir,
                                    const std::vector<std::string>* classes = nullptr);

class ImageFolderDataset : public Dataset {
 public:
  // image_size: output side; images are resized so the shorter side is image_size * 8 / 7, then
  // center-cropped. `limit` keeps the first files in class-major order.
  ImageFolderDataset(const std::string& root, Split split, int64_t image_size, int64_t limit);

  int64_t size() const override { return static_cast<int64_t>(index_.files.size()); }
  Shape sample_shape() const override { return {3, image_size_, image_size_}; }
  int64_t num_classes() const override { return static_cast<int64_t>(index_.classes.size()); }
  void get(int64_t index, float* image, int32_t* label) const override;
  std::string describe() const override;
  size_t storage_bytes() const override;

  const ImageFolderIndex& index() const { return index_; }

 private:
  ImageFolderIndex index_;
  Split split_;
  int64_t image_size_;
  int64_t resize_side_;
};

}  // namespace frugal
