#include "training/distributed/distributed_evaluation.h"

#include <cmath>

#include "datasets/dataset_range.h"

namespace frugal {

EvalResult evaluate_data_parallel(DataParallel& dp, Executor& executor, const Dataset& data, int64_t batch_size,
                                  const LoaderOptions& train) {
  dp.share_buffers_from_rank0(executor.graph());
  const int64_t t = data.size(), n = dp.size(), r = dp.rank();
  const DatasetRange mine(data, r * t / n, (r + 1) * t / n);
  double sums[3] = {0, 0, 0};  // loss sum, correct, samples
  if (mine.size() > 0) {
    const EvalResult local = evaluate_dataset(executor, mine, batch_size, train);
    sums[0] = local.loss * static_cast<double>(local.samples);
    sums[1] = std::round(local.accuracy * static_cast<double>(local.samples));  // the correct count
    sums[2] = static_cast<double>(local.samples);
  }
  dp.sum(sums, 3, "evaluation sums");
  EvalResult e;
  e.samples = static_cast<int64_t>(sums[2]);
  if (e.samples > 0) {
    e.loss = sums[0] / sums[2];
    e.accuracy = sums[1] / sums[2];
  }
  return e;
}

}  // namespace frugal
