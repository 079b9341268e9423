#include "datasets/byte_image_dataset.h"

#include <cstdio>

#include "core/error.h"

namespace frugal {

ByteImageDataset::ByteImageDataset(std::vector<uint8_t> pixels, std::vector<int32_t> labels,
                                   Shape sample_shape, int64_t num_classes, std::string what)
    : pixels_(std::move(pixels)),
      labels_(std::move(labels)),
      shape_(sample_shape),
      num_classes_(num_classes),
      what_(std::move(what)) {
  if (static_cast<int64_t>(pixels_.size()) != size() * shape_.numel())
    throw InternalError(what_ + ": " + std::to_string(pixels_.size()) + " pixel bytes for " +
                        std::to_string(size()) + " samples of shape " + shape_.str());
}

namespace {

// byte / 255.0f for every byte, exactly as PyTorch's ToTensor divides (multiplying by 1/255 rounds
// differently for some bytes).
struct UnitTable {
  float values[256];
  UnitTable() {
    for (int i = 0; i < 256; ++i) values[i] = static_cast<float>(i) / 255.0f;
  }
};
const UnitTable kUnit;

}  // namespace

void ByteImageDataset::get(int64_t index, float* image, int32_t* label) const {
  check_sample_index(index, size(), what_.c_str());
  const int64_t n = shape_.numel();
  const uint8_t* src = pixels_.data() + index * n;
  for (int64_t i = 0; i < n; ++i) image[i] = kUnit.values[src[i]];
  *label = labels_[static_cast<size_t>(index)];
}

std::string ByteImageDataset::describe() const {
  return what_ + ": " + std::to_string(size()) + " samples, " + shape_.str() + ", " +
         std::to_string(num_classes_) + " classes";
}

void apply_limit(int64_t limit, int64_t sample_bytes, std::vector<uint8_t>& pixels,
                 std::vector<int32_t>& labels) {
  if (limit <= 0 || limit >= static_cast<int64_t>(labels.size())) return;
  labels.resize(static_cast<size_t>(limit));
  labels.shrink_to_fit();
  pixels.resize(static_cast<size_t>(limit * sample_bytes));
  pixels.shrink_to_fit();
}

void check_sample_index(int64_t index, int64_t size, const char* what) {
  if (index < 0 || index >= size)
    throw InternalError(std::string(what) + ": sample index " + std::to_string(index) +
                        " outside [0, " + std::to_string(size) + ")");
}

std::string label_histogram(const std::vector<int32_t>& labels, int64_t num_classes) {
  std::vector<int64_t> counts(static_cast<size_t>(num_classes), 0);
  for (int32_t l : labels)
    if (l >= 0 && l < num_classes) ++counts[static_cast<size_t>(l)];
  std::string out, line;
  char cell[48];
  for (int64_t c = 0; c < num_classes; ++c) {
    std::snprintf(cell, sizeof cell, "%3lld:%-7lld", static_cast<long long>(c),
                  static_cast<long long>(counts[static_cast<size_t>(c)]));
    line += cell;
    if (c % 10 == 9 || c == num_classes - 1) {
      line.erase(line.find_last_not_of(' ') + 1);
      out += (out.empty() ? "    " : "\n    ") + line;
      line.clear();
    }
  }
  return out;
}

}  // namespace frugal
