// The safetensors checkpoint format (https://github.com/huggingface/safetensors), so frugal checkpoints
// load in PyTorch and back:
//   8 bytes   little-endian u64 N, the header length
//   N bytes   JSON header {"<name>": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ...,
//             "__metadata__": {"<key>": "<value>"}}, padded with spaces so N is a multiple of 8
//   the rest  raw little-endian tensor data; offsets are relative to the start of this section
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace frugal {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// Writes the tensors in the given order, packed without gaps, atomically (see write_file_atomic).
// Tensors must be defined, on the CPU and uniquely named (InternalError naming the tensor otherwise);
// "__metadata__" is reserved. Metadata is omitted from the header when empty.
void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata = {});

struct SafetensorsFile {
  NamedTensors tensors;  // in header order
  std::map<std::string, std::string> metadata;
};

// Reads dtypes F32, F64, I32, I64, U8 (BOOL loads as U8). Throws IoError when the file cannot be read and
// DataError naming the file (and the tensor) on: bad header length, invalid JSON, a malformed entry,
// unknown dtype, shape/offset byte count mismatch, offsets out of range, overlapping or leaving gaps,
// truncated file.
SafetensorsFile load_safetensors(const std::string& path);

}  // namespace frugal
