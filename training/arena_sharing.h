// Evaluation in the training step's memory. Between two training steps every buffer of the training
// plan is dead, so the bytes of its arena can hold an evaluation step whose plan fits in them: the
// process then needs no memory of its own for evaluation (docs/memory_budget.md, "The whole process").
//
// The training step's static planner takes its arena through an ArenaLender, which remembers the block;
// the evaluation step's static planner takes it through an ArenaBorrower, which hands out that same
// block. Which evaluation batch fits is the executor's business (Executor::evaluation_batch).
#pragma once
#include <cstddef>
#include <cstdint>

#include "core/allocator.h"

namespace frugal {

class ArenaLender : public Allocator {
 public:
  explicit ArenaLender(Allocator& source) : source_(source) {}
  void* allocate(size_t bytes, const AllocTag& tag) override;
  void deallocate(void* ptr, size_t bytes) override;
  const char* name() const override { return "training arena"; }
  Device device() const override { return source_.device(); }

  void* block() const { return block_; }
  size_t block_bytes() const { return block_bytes_; }
  // Changes whenever the block does: a borrower planned against an older one must plan again.
  uint64_t generation() const { return generation_; }

 private:
  Allocator& source_;
  void* block_ = nullptr;
  size_t block_bytes_ = 0;
  uint64_t generation_ = 0;
};

class ArenaBorrower : public Allocator {
 public:
  explicit ArenaBorrower(const ArenaLender& lender) : lender_(lender) {}
  // The lender's block; InternalError when `bytes` do not fit in it.
  void* allocate(size_t bytes, const AllocTag& tag) override;
  void deallocate(void*, size_t) override {}
  const char* name() const override { return "borrowed training arena"; }
  Device device() const override { return lender_.device(); }

 private:
  const ArenaLender& lender_;
};

}  // namespace frugal
