#include "datasets/dataset_range.h"

#include "core/error.h"

namespace frugal {

DatasetRange::DatasetRange(const Dataset& data, int64_t begin, int64_t end) : data_(data), begin_(begin), end_(end) {
  if (begin < 0 || begin > end || end > data.size())
    throw InternalError("DatasetRange [" + std::to_string(begin) + ", " + std::to_string(end) + ") of " +
                        std::to_string(data.size()) + " samples");
}

std::string DatasetRange::describe() const {
  return "samples [" + std::to_string(begin_) + ", " + std::to_string(end_) + ") of " + data_.describe();
}

}  // namespace frugal
