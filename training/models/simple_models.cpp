// mlp, cnn and explicit layer lists: sequential nets whose layers are named by index, as in
// PyTorch's nn.Sequential ("0", "1", ...), so "3.weight" is the same tensor in both.
#include <string>

#include "core/error.h"
#include "training/models/model_builder.h"
#include "training/models/models.h"

namespace frugal {
namespace {

ActivationSpec activation_from(const nlohmann::json& model) {
  return default_activation_spec(parse_activation(model.value("activation", std::string("relu"))));
}

// Appends layers named "0", "1", ... in order.
class Sequence {
 public:
  explicit Sequence(ModelBuilder& b) : b_(b) {}
  std::string next_name() { return std::to_string(count_++); }
  int& last() { return last_; }
  ModelBuilder& builder() { return b_; }

 private:
  ModelBuilder& b_;
  int count_ = 0;
  int last_ = Graph::kInput;
};

}  // namespace

std::unique_ptr<Graph> build_mlp(const nlohmann::json& model, const Shape& sample, int64_t classes, uint64_t seed) {
  ModelBuilder b(seed, sample);
  Sequence s(b);
  const ActivationSpec act = activation_from(model);
  const float p = model.value("dropout", 0.0f);
  s.last() = b.flatten(s.next_name(), s.last());
  for (int64_t width : model.at("hidden").get<std::vector<int64_t>>()) {
    s.last() = b.linear(s.next_name(), s.last(), width);
    s.last() = b.activation(s.next_name(), s.last(), act);
    if (p > 0) s.last() = b.dropout(s.next_name(), s.last(), p);
  }
  b.linear(s.next_name(), s.last(), classes);
  return b.finish();
}

std::unique_ptr<Graph> build_cnn(const nlohmann::json& model, const Shape& sample, int64_t classes, uint64_t seed) {
  // LeNet-style: per entry of `channels` a 3x3 conv (padding 1), BN, activation and 2x2 max pool;
  // then flatten, hidden linear layers with the activation (and dropout), and the classifier.
  ModelBuilder b(seed, sample);
  Sequence s(b);
  const ActivationSpec act = activation_from(model);
  const bool bn = model.value("batch_norm", true);
  const float p = model.value("dropout", 0.0f);
  for (int64_t c : model.at("channels").get<std::vector<int64_t>>()) {
    s.last() = b.conv(s.next_name(), s.last(), c, 3, 1, 1, !bn);
    if (bn) s.last() = b.batchnorm(s.next_name(), s.last());
    s.last() = b.activation(s.next_name(), s.last(), act);
    s.last() = b.maxpool(s.next_name(), s.last(), 2, 2);
  }
  s.last() = b.flatten(s.next_name(), s.last());
  for (int64_t width : model.at("hidden").get<std::vector<int64_t>>()) {
    s.last() = b.linear(s.next_name(), s.last(), width);
    s.last() = b.activation(s.next_name(), s.last(), act);
    if (p > 0) s.last() = b.dropout(s.next_name(), s.last(), p);
  }
  b.linear(s.next_name(), s.last(), classes);
  return b.finish();
}

std::unique_ptr<Graph> build_sequential(const nlohmann::json& model, const Shape& sample, int64_t classes,
                                        uint64_t seed) {
  ModelBuilder b(seed, sample);
  Sequence s(b);
  const auto& layers = model.at("layers");
  if (!layers.is_array() || layers.empty())
    throw ConfigError("model.layers: a sequential model needs a non-empty list of layers");
  for (size_t i = 0; i < layers.size(); ++i) {
    const auto& l = layers[i];
    const std::string where = "model.layers[" + std::to_string(i) + "]";
    const std::string type = l.at("type").get<std::string>();
    std::string name = l.value("name", std::string());
    std::string index = s.next_name();
    if (name.empty()) name = index;
    auto need = [&](const char* key) {
      if (!l.contains(key)) throw ConfigError(where + ": a " + type + " layer needs '" + key + "'");
      return l.at(key);
    };
    int& last = s.last();
    if (type == "conv2d") {
      last = b.conv(name, last, need("out_channels").get<int64_t>(), need("kernel").get<int64_t>(),
                    l.value("stride", 1), l.value("padding", 0), l.value("bias", true), l.value("groups", 1),
                    l.value("dilation", 1));
    } else if (type == "linear") {
      // A linear layer without out_features is the classifier.
      int64_t out = l.contains("out_features") ? l.at("out_features").get<int64_t>() : classes;
      last = b.linear(name, last, out, l.value("bias", true));
    } else if (type == "batchnorm2d" || type == "batchnorm1d") {
      last = b.batchnorm(name, last, l.value("eps", 1e-5f), l.value("momentum", 0.1f));
    } else if (type == "maxpool2d") {
      int64_t k = need("kernel").get<int64_t>();
      last = b.maxpool(name, last, k, l.value("stride", k), l.value("padding", 0));
    } else if (type == "avgpool2d") {
      int64_t k = need("kernel").get<int64_t>();
      last = b.avgpool(name, last, k, l.value("stride", k), l.value("padding", 0));
    } else if (type == "global_avgpool") {
      last = b.global_avgpool(name, last);
    } else if (type == "flatten") {
      last = b.flatten(name, last);
    } else if (type == "dropout") {
      last = b.dropout(name, last, l.value("p", 0.5f));
    } else {
      ActivationSpec spec = default_activation_spec(parse_activation(type));
      if (l.contains("alpha")) spec.alpha = l.at("alpha").get<float>();
      last = b.activation(name, last, spec);
    }
  }
  const Shape& out = b.shape_of(s.last());
  if (out.ndim() != 1 || out[0] != classes)
    throw ConfigError("model.layers: the last layer must output " + std::to_string(classes) +
                      " class scores, got shape " + out.str());
  return b.finish();
}

}  // namespace frugal
