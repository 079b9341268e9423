// Mean loss and accuracy of the model over a whole dataset split (evaluation mode).
#pragma once
#include "datasets/dataset.h"
#include "datasets/loader.h"
#include "training/executor.h"

namespace frugal {

struct EvalResult {
  double loss = 0, accuracy = 0;
  int64_t samples = 0;
};

// Test data goes through the same per-channel normalisation as training data (`train` options), without
// shuffling or augmentation.
EvalResult evaluate_dataset(Executor& executor, const Dataset& data, int64_t batch_size, const LoaderOptions& train);

}  // namespace frugal
