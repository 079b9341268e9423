// The checkpoints of a run directory, kept so that a crash at any instant (a kill, a full disk, a power
// cut) leaves at least one complete checkpoint:
//
//   run/checkpoints/step-00000016/   complete checkpoints (training/checkpoint.h), one folder each
//   run/checkpoints/.partial-.../    a checkpoint being written: never read, removed on the next save
//   run/checkpoints/.removing-.../   an old checkpoint being removed (renamed first, then deleted)
//   run/checkpoint -> checkpoints/step-00000016   a link to the newest, for users (`frugal eval`)
//
// A new checkpoint is written into a .partial folder beside the old ones, renamed to its final name
// (the instant it becomes complete), and only then is the link switched and are old ones removed, the
// newest `keep` staying; a folder is renamed away before it is deleted, so no step-N folder is ever
// incomplete. --resume takes the newest complete folder, whatever the link says.
#pragma once
#include <optional>
#include <string>

#include "training/checkpoint.h"

namespace frugal {

class CheckpointStore {
 public:
  // `writes`: false on the ranks of a data-parallel job other than 0. They take part in gathering the
  // state each save (a collective) and change nothing on disk.
  CheckpointStore(std::string run_dir, int64_t keep, bool writes = true);

  // Before any work, changing nothing: IoError naming the path when `checkpoint` or `checkpoints` exist
  // and are not what this store makes (a regular file, a folder of something else).
  void check_layout() const;
  // For a run that starts from the beginning, once it is about to train: the checkpoints of an earlier
  // run in the same directory go (they do not belong to this one). Not before: a run that fails to
  // start leaves the earlier run as it was.
  void discard_earlier_run();
  // For a resumed run: removes what an interrupted save left; a `checkpoint` folder of the layout before
  // checkpoints/ becomes its first checkpoint.
  void open_for_resume();

  // Writes `pos` as the newest checkpoint. On failure (IoError naming the file) the previous checkpoints
  // are untouched and the partial one is removed.
  void save(Experiment& e, const TrainingPosition& pos);

  // The newest complete checkpoint folder, or nothing.
  std::optional<std::string> newest() const;

  // Restores the newest checkpoint; nothing when there is none (the run starts from the beginning). A
  // newest one that does not load is a DataError naming the file and what is wrong, and the older one
  // to fall back to by removing it.
  std::optional<TrainingPosition> load_newest(Experiment& e) const;

  const std::string& link() const { return link_; }  // run/checkpoint

 private:
  std::string dir_for(int64_t step) const;
  bool legacy_folder() const;
  void remove_leftovers() const;
  void prune() const;

  std::string run_dir_, folder_, link_;
  int64_t keep_;
  bool writes_;
};

}  // namespace frugal
