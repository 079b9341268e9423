// What an optimizer updates: a whole parameter, or one contiguous run of its elements (a rank's shard of
// the optimizer state under data parallelism, docs/distributed.md), possibly with its gradient elsewhere.
#pragma once
#include <cstdint>

#include "core/parameter.h"

namespace frugal {

struct ParameterSlice {
  ParameterSlice(Parameter* p) : param(p) {}  // NOLINT: the whole parameter, implicitly
  ParameterSlice(Parameter* p, int64_t first, int64_t n, Tensor gradient = {})
      : param(p), begin(first), count(n), grad(std::move(gradient)) {}

  Parameter* param;
  int64_t begin = 0;   // first element, in the parameter's flattened (row-major) order
  int64_t count = -1;  // elements; -1: all of them
  Tensor grad;         // the slice's gradient ([count] F32) when it is not in param->grad; undefined: it is
  bool whole() const { return count < 0; }
};

}  // namespace frugal
