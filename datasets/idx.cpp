#include "datasets/idx.h"

#include <zlib.h>

#include <cstdint>
#include <cstdio>

#include "core/error.h"
#include "datasets/file_bytes.h"

namespace frugal {
namespace {

uint32_t read_be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08X", v);
  return buf;
}

const char* idx_kind(uint32_t magic) {
  return magic == kIdxImagesMagic ? "IDX images" : magic == kIdxLabelsMagic ? "IDX labels" : "IDX";
}

std::string dims_str(const std::vector<int64_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}

std::vector<std::string> idx_names(const char* prefix, const char* kind, int ndim) {
  std::vector<std::string> names;
  for (const char* sep : {"-", "."}) {
    std::string base =
        std::string(prefix) + "-" + kind + sep + "idx" + std::to_string(ndim) + "-ubyte";
    names.push_back(base);
    names.push_back(base + ".gz");
  }
  return names;
}

std::string find_in(const std::vector<std::string>& dirs, const std::vector<std::string>& names) {
  for (const auto& dir : dirs) {
    std::string found = first_existing(dir, names);
    if (!found.empty()) return found;
  }
  return "";
}

}  // namespace

IdxArray read_idx(const std::string& path, uint32_t expected_magic) {
  std::vector<uint8_t> bytes = read_file_bytes(path);
  if (bytes.size() < 4)
    throw DataError(path + " is truncated: " + std::to_string(bytes.size()) +
                    " bytes, too short for an IDX header");
  uint32_t magic = read_be32(bytes.data());
  if (magic != expected_magic)
    throw DataError("wrong magic number in " + path + ": expected " + hex32(expected_magic) + " (" +
                    idx_kind(expected_magic) + "), found " + hex32(magic));
  const size_t ndim = magic & 0xFF;
  const size_t header = 4 + 4 * ndim;
  if (bytes.size() < header)
    throw DataError(path + " is truncated: " + std::to_string(bytes.size()) +
                    " bytes, the IDX header alone needs " + std::to_string(header));
  IdxArray out;
  size_t promised = 1;
  for (size_t d = 0; d < ndim; ++d) {
    out.dims.push_back(read_be32(bytes.data() + 4 + 4 * d));
    // Saturate rather than wrap, so absurd headers read as truncated files.
    const size_t dim = static_cast<size_t>(out.dims.back());
    promised = dim != 0 && promised > SIZE_MAX / dim ? SIZE_MAX : promised * dim;
  }
  for (size_t d = 0; d < ndim; ++d)
    if (out.dims[d] == 0)
      throw DataError(path + ": the IDX header gives dimension " + std::to_string(d) + " of " + dims_str(out.dims) +
                      " as 0; every dimension must be at least 1");
  const size_t found = bytes.size() - header;
  if (found < promised)
    throw DataError(path + " is truncated: header promises " + dims_str(out.dims) + " = " +
                    std::to_string(promised) + " bytes of data, found " + std::to_string(found));
  if (found > promised)
    throw DataError(path + " has " + std::to_string(found - promised) +
                    " bytes beyond the data its header promises (" + dims_str(out.dims) + ")");
  bytes.erase(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(header));
  out.values = std::move(bytes);
  return out;
}

uint32_t peek_idx_magic(const std::string& path) {
  if (!path_exists(path)) throw DataError("data file not found: " + path);
  gzFile file = gzopen(path.c_str(), "rb");
  if (!file) throw DataError("cannot open data file " + path);
  uint8_t head[4];
  int got = gzread(file, head, 4);
  gzclose(file);
  if (got != 4) throw DataError(path + " is too short for an IDX header");
  return read_be32(head);
}

IdxSplitFiles find_idx_files(const std::string& dir, Split split) {
  const char* prefix = split == Split::Train ? "train" : "t10k";
  const std::vector<std::string> dirs{dir, join_path(dir, "raw")};
  IdxSplitFiles files{find_in(dirs, idx_names(prefix, "images", 3)),
                      find_in(dirs, idx_names(prefix, "labels", 1))};
  if (files.images.empty())
    throw DataError("no IDX image file for the " + std::string(split_name(split)) + " split in " +
                    dir + ": expected " + prefix + "-images-idx3-ubyte[.gz]");
  if (files.labels.empty())
    throw DataError("no IDX label file for the " + std::string(split_name(split)) + " split in " +
                    dir + ": expected " + prefix + "-labels-idx1-ubyte[.gz]");
  return files;
}

bool has_idx_files(const std::string& dir) {
  const std::vector<std::string> dirs{dir, join_path(dir, "raw")};
  for (const char* prefix : {"train", "t10k"})
    if (!find_in(dirs, idx_names(prefix, "images", 3)).empty() &&
        !find_in(dirs, idx_names(prefix, "labels", 1)).empty())
      return true;
  return false;
}

std::unique_ptr<ByteImageDataset> open_idx_dataset(const std::string& name, const std::string& dir,
                                                   Split split, int64_t num_classes,
                                                   int64_t limit) {
  IdxSplitFiles files = find_idx_files(dir, split);
  IdxArray images = read_idx(files.images, kIdxImagesMagic);
  IdxArray labels = read_idx(files.labels, kIdxLabelsMagic);
  const int64_t count = images.dims[0];
  if (labels.dims[0] != count)
    throw DataError("image/label count mismatch: " + files.images + " holds " +
                    std::to_string(count) + " images but " + files.labels + " holds " +
                    std::to_string(labels.dims[0]) + " labels");
  std::vector<int32_t> label_values(labels.values.begin(), labels.values.end());
  for (int64_t i = 0; i < count; ++i)
    if (label_values[static_cast<size_t>(i)] >= num_classes)
      throw DataError("label out of range in " + files.labels + ": sample " + std::to_string(i) +
                      " has label " + std::to_string(label_values[static_cast<size_t>(i)]) +
                      ", expected [0, " + std::to_string(num_classes) + ")");
  const Shape shape{1, images.dims[1], images.dims[2]};
  apply_limit(limit, shape.numel(), images.values, label_values);
  return std::make_unique<ByteImageDataset>(std::move(images.values), std::move(label_values),
                                            shape, num_classes,
                                            name + " " + split_name(split) + " " + dir);
}

}  // namespace frugal
