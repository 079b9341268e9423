#include "training/evaluation.h"

#include "datasets/loader.h"
#include "training/batch_stager.h"

namespace frugal {

EvalResult evaluate_dataset(Executor& executor, const Dataset& data, int64_t batch_size, const LoaderOptions& train) {
  LoaderOptions lo;
  lo.mean = train.mean;
  lo.std = train.std;
  // In the training arena when a batch fits there (split smaller if need be): no memory of its own.
  lo.batch_size = executor.evaluation_batch(std::min<int64_t>(batch_size, data.size()));
  lo.shuffle = false;
  lo.drop_last = false;
  lo.prefetch = 1;
  lo.workers = train.workers;
  Loader loader(data, lo);
  BatchStager stager(loader, executor.graph().device());
  stager.start_epoch(0);
  Batch b;
  double loss_sum = 0;
  int64_t correct = 0, n = 0;
  while (stager.next(b)) {
    StepResult r = executor.evaluate(b.images, b.labels);
    loss_sum += static_cast<double>(r.loss) * r.samples;
    correct += r.correct;
    n += r.samples;
  }
  EvalResult e;
  e.samples = n;
  if (n > 0) {
    e.loss = loss_sum / n;
    e.accuracy = static_cast<double>(correct) / n;
  }
  return e;
}

}  // namespace frugal
