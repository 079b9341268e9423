// Mean loss and accuracy of the model over a whole dataset split (evaluation mode).
#pragma once
#include "datasets/dataset.h"
#include "training/executor.h"

namespace frugal {

struct EvalResult {
  double loss = 0, accuracy = 0;
  int64_t samples = 0;
};

EvalResult evaluate_dataset(Executor& executor, const Dataset& data, int64_t batch_size);

}  // namespace frugal
