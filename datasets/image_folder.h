// ImageNet-style image folders: <root>/{train,val}/<class_name>/*.jpg|jpeg|png (any letter case).
// Classes are the subdirectory names sorted bytewise; files within a class are sorted by name. The
// file list is indexed at open; images are decoded in get(), on the loader's worker threads.
//
// A sample is cut from the photo before it is resized, as torchvision's transforms do: evaluation
// (get) takes Resize(image_size * 8 / 7) + CenterCrop(image_size); training with random resized crops
// (get_random_resized_crop) takes RandomResizedCrop(image_size). JPEGs decode only the rows and
// columns the crop reads, at the smallest DCT scale (1/8 .. 1) that keeps the crop at least
// image_size pixels (datasets/crop_geometry.h); PNGs decode whole. The format is read from the file's
// first bytes, not its name (ImageNet has a PNG named .JPEG).
#pragma once
#include <atomic>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "datasets/dataset.h"
#include "datasets/photo_crop.h"

namespace frugal {

struct ImageFolderIndex {
  std::string dir;                   // the split directory that was indexed
  std::vector<std::string> classes;  // label i is classes[i]
  std::vector<std::string> files;    // absolute paths, class-major
  std::vector<int32_t> labels;       // per file
};

bool is_jpeg_name(const std::string& filename);   // .jpg / .jpeg in any letter case
bool is_image_name(const std::string& filename);  // a JPEG name or .png

// The split's directory: root/train for Train; root/val, else root/test, for Test. "" when absent.
std::string image_folder_split_dir(const std::string& root, Split split);

// Indexes one split directory. `classes`, when given, fixes the label of each class name (the test
// split reuses the train split's classes, so labels agree); a class not in it is a DataError.
// DataError when the directory is missing, holds no class directories, or a class holds no image.
ImageFolderIndex index_image_folder(const std::string& split_dir,
                                    const std::vector<std::string>* classes = nullptr);

struct ImageFolderOptions {
  int64_t image_size = 0;     // output side
  int64_t limit = 0;          // keep the first files in class-major order (0 = all)
  bool skip_corrupt = false;  // an undecodable file is logged once and replaced by the next decodable
                              // file (in index order, wrapping); otherwise DataError naming it
};

class ImageFolderDataset : public Dataset {
 public:
  ImageFolderDataset(const std::string& root, Split split, const ImageFolderOptions& opts);

  int64_t size() const override { return static_cast<int64_t>(index_.files.size()); }
  Shape sample_shape() const override { return {3, opts_.image_size, opts_.image_size}; }
  int64_t num_classes() const override { return static_cast<int64_t>(index_.classes.size()); }
  void get(int64_t index, float* image, int32_t* label) const override;
  std::string describe() const override;
  size_t storage_bytes() const override;
  bool supports_random_resized_crop() const override { return true; }
  void get_random_resized_crop(int64_t index, const RandomResizedCropOptions& crop, const RngKey& key, float* image,
                               int32_t* label) const override;
  int64_t replaced_samples() const override { return replaced_.load(); }

  const ImageFolderIndex& index() const { return index_; }

 private:
  // Decodes file `index`, cuts it and resizes it to image_size; with skip_corrupt, falls through to the
  // next decodable file. Writes the label of the file actually used.
  void load(int64_t index, const CropChooser& choose, float* image, int32_t* label) const;
  void load_file(const std::string& file, const CropChooser& choose, float* image) const;

  ImageFolderIndex index_;
  Split split_;
  ImageFolderOptions opts_;
  int64_t resize_side_;
  mutable std::atomic<int64_t> replaced_{0};
  mutable std::mutex corrupt_mutex_;
  mutable std::set<int64_t> corrupt_;  // files found undecodable (each logged once)
};

}  // namespace frugal
