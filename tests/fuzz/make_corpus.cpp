// Writes the seed corpus of every fuzz target into <folder>/<target>/ (scripts/make_fuzz_corpus.sh runs
// it on tests/fuzz): small valid inputs of each format and variants that reach each option of a target,
// written with frugal's own writers (safetensors, checkpoints) and libjpeg, so seeds are real files.
// Inputs that once failed a target are kept beside the seeds as crash-*; this program leaves them alone
// and replaces every other file of the target folders.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

// clang-format off
#include <cstddef>  // jpeglib.h needs size_t and FILE declared first
#include <jpeglib.h>
// clang-format on

#include "core/io/safetensors.h"
#include "tests/fuzz/fuzz_support.h"
#include "training/checkpoint.h"
#include "training/experiment.h"

namespace {
namespace fs = std::filesystem;
using frugal::fuzz::gzip;
using frugal::fuzz::kSeparator;
using json = nlohmann::json;

fs::path out_root;

void seed(const std::string& target, const std::string& name, const std::string& bytes) {
  fs::create_directories(out_root / target);
  std::ofstream(out_root / target / name, std::ios::binary)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string read(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? kSeparator : "") + parts[i];
  return out;
}

std::string flags(uint8_t f) { return std::string(1, static_cast<char>(f)); }

// A config with its "extends" chain merged in (the target writes one parent, so seeds carry the rest).
json resolved_chain(const fs::path& file) {
  json config = json::parse(read(file));
  if (!config.contains("extends")) return config;
  json merged = resolved_chain(file.parent_path() / config["extends"].get<std::string>());
  config.erase("extends");
  merged.merge_patch(config);
  return merged;
}

// ---- config: each config of configs/ with its parents merged into base.json, and overrides ----
void config_seeds(const fs::path& source) {
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(source / "configs"))
    if (e.path().extension() == ".json" && e.path().parent_path().filename() != "base") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const fs::path& file : files) {
    json config = json::parse(read(file));
    std::string parent;
    if (config.contains("extends")) {
      parent = resolved_chain(file.parent_path() / config["extends"].get<std::string>()).dump(2);
      config["extends"] = "base.json";
    }
    seed("config", file.stem().string(), join({config.dump(2), parent}));
  }
  const std::string minimal = R"({"name": "m", "data": {"dataset": "synthetic"}, "model": {"arch": "mlp"}})";
  seed("config", "minimal", minimal);
  seed("config", "overrides",
       join({minimal, "",
             "train.epochs=1\nmodel.hidden=[512,512]\ndata.synthetic.shape=[3,8,8]\noptimizer.name=adamw\n"
             "backward.layers=[{\"match\":\"*\",\"mode\":\"exact\"}]\nbackward.layers[0].mode=fewbit\nname=123"}));
  seed("config", "extends_only", join({R"({"extends": "base.json", "name": "child"})", minimal}));
}

// ---- safetensors: the tiny model's weights and AdamW state, a batch, every dtype with metadata ----
void safetensors_seeds(frugal::Experiment& e, const fs::path& tmp) {
  using frugal::DType;
  using frugal::Tensor;
  auto saved = [&](const frugal::NamedTensors& tensors, const std::map<std::string, std::string>& meta) {
    const fs::path file = tmp / "seed.safetensors";
    frugal::save_safetensors(file.string(), tensors, meta);
    return read(file);
  };
  seed("safetensors", "weights", saved(frugal::model_state(*e.graph), {{"format", "frugal"}, {"step", "0"}}));
  seed("safetensors", "optimizer", saved(e.optimizer->state(), {{"step", "0"}}));
  Tensor images = Tensor::zeros({2, 1, 2, 2}), labels = Tensor::zeros({2}, DType::I64);
  seed("safetensors", "batch", saved({{"images", images}, {"labels", labels}}, {}));
  frugal::NamedTensors every;
  for (DType t : {DType::F32, DType::F64, DType::I32, DType::I64, DType::U8})
    every.emplace_back(std::string("t_") + frugal::dtype_name(t), Tensor::zeros({2, 1}, t));
  every.emplace_back("empty", Tensor::zeros({0, 3}));
  seed("safetensors", "every_dtype", saved(every, {{"note", "x"}}));
  const std::string header = R"({"mask": {"dtype": "BOOL", "shape": [3], "data_offsets": [0, 3]}}     )";
  std::string raw(8, '\0');
  raw[0] = static_cast<char>(header.size());
  seed("safetensors", "bool", raw + header + std::string("\x01\x00\x01", 3));
}

// ---- checkpoint state.json: as written after an epoch, mid-epoch, and a minimal one ----
void checkpoint_seeds(frugal::Experiment& e, const fs::path& tmp) {
  frugal::save_checkpoint((tmp / "ckpt").string(), e, {});
  const json state = json::parse(read(tmp / "ckpt" / "state.json"));
  seed("checkpoint_state", "saved", state.dump(2) + "\n");
  json mid = state;
  mid["epoch"] = 1;
  mid["batch_in_epoch"] = 2;
  seed("checkpoint_state", "mid_epoch", mid.dump());
  seed("checkpoint_state", "minimal", R"({"epoch": 0, "batch_in_epoch": 0, "step": 0})");
}

// ---- idx: flags, then images and labels (flags: 1 gzip images, 2 gzip labels, 4 test split) ----
// An unsigned-byte IDX file of the given dimensions with values in 0..9.
std::string idx(const std::vector<uint32_t>& dims, uint8_t start) {
  std::string out{0, 0, 8, static_cast<char>(dims.size())};
  size_t count = 1;
  for (uint32_t d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(d >> shift));
    count *= d;
  }
  for (size_t i = 0; i < count; ++i) out.push_back(static_cast<char>((start + i * 7) % 10));
  return out;
}

void idx_seeds() {
  const std::string images = idx({3, 2, 2}, 1), labels = idx({3}, 0);
  seed("idx", "plain", flags(0) + join({images, labels}));
  seed("idx", "gzip", flags(3) + join({images, labels}));
  seed("idx", "test_split_limit", flags(4 | (2 << 3)) + join({images, labels}));
  // Already-gzipped bytes written as they are: the reader must detect the stream by its magic.
  seed("idx", "gzip_in_file", flags(0) + join({gzip(images), gzip(labels)}));
}

// ---- cifar: flags (1 CIFAR-100, 2 gzip, 4 coarse), then the records ----
std::string cifar(int records, int label_bytes) {
  std::string out;
  for (int r = 0; r < records; ++r) {
    for (int l = 0; l < label_bytes; ++l) out.push_back(static_cast<char>((r + l * 3) % 10));
    for (int p = 0; p < 3072; ++p) out.push_back(static_cast<char>((r * 37 + p * 5) % 256));
  }
  return out;
}

void cifar_seeds() {
  seed("cifar", "cifar10", flags(0) + join({cifar(2, 1)}));
  seed("cifar", "cifar10_gzip", flags(2 | (1 << 3)) + join({cifar(2, 1)}));
  seed("cifar", "cifar100", flags(1) + join({cifar(2, 2)}));
  seed("cifar", "cifar100_coarse", flags(1 | 4) + join({cifar(1, 2)}));
}

// ---- jpeg and image folders ----
std::string jpeg(int width, int height, J_COLOR_SPACE space, int components, bool progressive, int restart) {
  jpeg_compress_struct cinfo;
  jpeg_error_mgr err;
  cinfo.err = jpeg_std_error(&err);
  jpeg_create_compress(&cinfo);
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&cinfo, &buffer, &size);
  cinfo.image_width = static_cast<JDIMENSION>(width);
  cinfo.image_height = static_cast<JDIMENSION>(height);
  cinfo.input_components = components;
  cinfo.in_color_space = space;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, 80, TRUE);
  if (progressive) jpeg_simple_progression(&cinfo);
  cinfo.restart_interval = static_cast<unsigned>(restart);
  jpeg_start_compress(&cinfo, TRUE);
  std::vector<unsigned char> row(static_cast<size_t>(width * components));
  while (cinfo.next_scanline < cinfo.image_height) {
    for (size_t i = 0; i < row.size(); ++i)
      row[i] = static_cast<unsigned char>((i * 13 + cinfo.next_scanline * 29) % 256);
    JSAMPROW rows[1] = {row.data()};
    jpeg_write_scanlines(&cinfo, rows, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  std::string out(reinterpret_cast<char*>(buffer), size);
  std::free(buffer);
  return out;
}

void jpeg_seeds() {
  const std::string rgb = jpeg(9, 7, JCS_RGB, 3, false, 0);
  seed("jpeg", "rgb", flags(8) + rgb);
  seed("jpeg", "rgb_random_crop", flags(128 | 2) + rgb);
  seed("jpeg", "gray", flags(3) + jpeg(5, 11, JCS_GRAYSCALE, 1, false, 0));
  seed("jpeg", "cmyk", flags(4) + jpeg(6, 6, JCS_CMYK, 4, false, 0));
  seed("jpeg", "progressive", flags(20) + jpeg(40, 33, JCS_RGB, 3, true, 0));
  seed("jpeg", "restarts", flags(31) + jpeg(64, 48, JCS_RGB, 3, false, 1));
  // A crop small enough for a 1/8 DCT scale of a region of a progressive file.
  seed("jpeg", "progressive_random_crop", flags(128 | 64 | 3) + jpeg(200, 150, JCS_RGB, 3, true, 0));

  const std::string small = jpeg(6, 5, JCS_RGB, 3, false, 0);
  seed("image_folder", "train_val",
       flags(4) + join({"train/cat/a.jpg\ntrain/cat/b.JPEG\ntrain/dog/c.jpeg\nval/cat/d.jpg\n", small}));
  seed("image_folder", "test_split",
       flags(4 | 32) + join({"train/cat/a.jpg\ntrain/dog/b.jpg\ntest/dog/c.jpg\n", small}));
  seed("image_folder", "hidden_and_empty",
       flags(2 | (1 << 6)) +
           join({"train/.hidden/a.jpg\ntrain/cat/.b.jpg\ntrain/cat/c.jpg\ntrain/cat/d.txt\ntrain/empty/\n", small}));
  seed("image_folder", "split_only", flags(1) + join({"cat/a.jpg\ndog/b.jpg\n", small}));
  seed("image_folder", "not_a_jpeg", flags(0) + join({"train/cat/a.jpg\n", "not a jpeg"}));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: fuzz_make_corpus OUT_FOLDER SOURCE_ROOT\n";
    return 2;
  }
  out_root = argv[1];
  const fs::path tmp = fs::temp_directory_path() / ("frugal_make_corpus_" + std::to_string(::getpid()));
  fs::create_directories(tmp);
  // Seeds are rewritten from scratch; regression inputs (crash-*) stay.
  for (const char* target : {"config", "safetensors", "checkpoint_state", "idx", "cifar", "jpeg", "image_folder"})
    if (fs::is_directory(out_root / target))
      for (const auto& entry : fs::directory_iterator(out_root / target))
        if (entry.path().filename().string().rfind("crash-", 0) != 0) fs::remove(entry.path());
  frugal::Experiment e = frugal::build_experiment(frugal::fuzz::tiny_experiment_config(), frugal::ExperimentUse::Train);
  config_seeds(argv[2]);
  safetensors_seeds(e, tmp);
  checkpoint_seeds(e, tmp);
  idx_seeds();
  cifar_seeds();
  jpeg_seeds();
  fs::remove_all(tmp);
  std::cout << "fuzz seeds written under " << out_root.string() << "\n";
  return 0;
}
