// The test split evaluated by all ranks together (docs/distributed.md).
#pragma once
#include "training/distributed/data_parallel.h"
#include "training/evaluation.h"

namespace frugal {

// Rank r evaluates samples [r*T/N, (r+1)*T/N) of the T test samples and the loss and accuracy sums are
// added over the ranks, after every rank took rank 0's BatchNorm running statistics. A collective.
EvalResult evaluate_data_parallel(DataParallel& dp, Executor& executor, const Dataset& data, int64_t batch_size,
                                  const LoaderOptions& train);

}  // namespace frugal
