// mlp, cnn and explicit layer lists: sequential nets whose layers are named by index, as in
// PyTorch's nn.Sequential ("0", "1", ...), so "3.weight" is the same tensor in both.
#include <map>
#include <string>

#include "core/error.h"
#include "training/models/model_builder.h"
#include "training/models/models.h"

namespace frugal {
namespace {

ActivationSpec activation_from(const nlohmann::json& model) {
  return default_activation_spec(parse_activation(model.at("activation").get<std::string>()));
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
  const float p = model.at("dropout").get<float>();
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
  const bool bn = model.at("batch_norm").get<bool>();
  const float p = model.at("dropout").get<float>();
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

namespace {

// One entry of model.layers: its key path for messages, its name and the builder's current output.
struct LayerEntry {
  const nlohmann::json& config;
  const std::string& where;  // "model.layers[i]"
  const std::string& name;
  const std::string& type;
  int64_t classes;
  // The value of a knob the layer cannot do without.
  const nlohmann::json& need(const char* key) const {
    if (!config.contains(key)) throw ConfigError(where + ": a " + type + " layer needs '" + key + "'");
    return config.at(key);
  }
};

// Absent knobs take the layer's own defaults, those of PyTorch's module of the same name (the schema
// has none for them: they differ between layer types, e.g. a pool's stride is its kernel).
using AddLayer = int (*)(ModelBuilder& b, int from, const LayerEntry& l);
struct LayerType {
  const char* type;
  AddLayer add;
};
constexpr LayerType kLayerTypes[] = {
    {"conv2d",
     [](ModelBuilder& b, int from, const LayerEntry& l) {
       const auto& c = l.config;
       return b.conv(l.name, from, l.need("out_channels").get<int64_t>(), l.need("kernel").get<int64_t>(),
                     c.value("stride", 1), c.value("padding", 0), c.value("bias", true), c.value("groups", 1),
                     c.value("dilation", 1));
     }},
    {"linear",
     [](ModelBuilder& b, int from, const LayerEntry& l) {
       // A linear layer without out_features is the classifier.
       const int64_t out = l.config.contains("out_features") ? l.config.at("out_features").get<int64_t>() : l.classes;
       return b.linear(l.name, from, out, l.config.value("bias", true));
     }},
    {"batchnorm2d",
     [](ModelBuilder& b, int from, const LayerEntry& l) {
       return b.batchnorm(l.name, from, l.config.value("eps", 1e-5f), l.config.value("momentum", 0.1f));
     }},
    {"batchnorm1d",
     [](ModelBuilder& b, int from, const LayerEntry& l) {
       return b.batchnorm(l.name, from, l.config.value("eps", 1e-5f), l.config.value("momentum", 0.1f));
     }},
    {"maxpool2d",
     [](ModelBuilder& b, int from, const LayerEntry& l) {
       const int64_t k = l.need("kernel").get<int64_t>();
       return b.maxpool(l.name, from, k, l.config.value("stride", k), l.config.value("padding", 0));
     }},
    {"avgpool2d",
     [](ModelBuilder& b, int from, const LayerEntry& l) {
       const int64_t k = l.need("kernel").get<int64_t>();
       return b.avgpool(l.name, from, k, l.config.value("stride", k), l.config.value("padding", 0));
     }},
    {"global_avgpool", [](ModelBuilder& b, int from, const LayerEntry& l) { return b.global_avgpool(l.name, from); }},
    {"dropout",
     [](ModelBuilder& b, int from, const LayerEntry& l) { return b.dropout(l.name, from, l.config.value("p", 0.5f)); }},
    {"flatten", [](ModelBuilder& b, int from, const LayerEntry& l) { return b.flatten(l.name, from); }},
};

int add_activation(ModelBuilder& b, int from, const LayerEntry& l) {
  ActivationSpec spec = default_activation_spec(parse_activation(l.type));
  if (l.config.contains("alpha")) spec.alpha = l.config.at("alpha").get<float>();
  return b.activation(l.name, from, spec);
}

}  // namespace

std::vector<std::string> sequential_layer_types() {
  std::vector<std::string> types;
  for (const LayerType& t : kLayerTypes) types.push_back(t.type);
  for (const std::string& a : activation_names()) types.push_back(a);
  return types;
}

std::unique_ptr<Graph> build_sequential(const nlohmann::json& model, const Shape& sample, int64_t classes,
                                        uint64_t seed) {
  ModelBuilder b(seed, sample);
  Sequence s(b);
  const auto& layers = model.at("layers");
  if (!layers.is_array() || layers.empty())
    throw ConfigError("model.layers: a sequential model needs a non-empty list of layers");
  std::map<std::string, size_t> named;  // layer name -> its index in model.layers
  for (size_t i = 0; i < layers.size(); ++i) {
    const auto& l = layers[i];
    const std::string where = "model.layers[" + std::to_string(i) + "]";
    const std::string type = l.at("type").get<std::string>();
    const std::string index = s.next_name();
    const bool named_here = l.contains("name") && !l.at("name").get<std::string>().empty();
    const std::string name = named_here ? l.at("name").get<std::string>() : index;
    // Parameter names ("<layer>.weight") must be unique; an unnamed layer is named by its index.
    if (auto [it, fresh] = named.emplace(name, i); !fresh)
      throw ConfigError(where + ".name: '" + name + "' is already the name of model.layers[" +
                        std::to_string(it->second) + "]" + (named_here ? "" : " (an unnamed layer takes its index as name)"));
    const LayerEntry entry{l, where, name, type, classes};
    int& last = s.last();
    const LayerType* known = nullptr;
    for (const LayerType& t : kLayerTypes)
      if (type == t.type) known = &t;
    // Errors of the layer (bad channels, shapes) are prefixed with the entry that made it.
    try {
      last = known ? known->add(b, last, entry) : add_activation(b, last, entry);
    } catch (const ConfigError& e) {
      throw ConfigError(where + ": " + e.what());
    } catch (const ShapeError& e) {
      throw ShapeError(where + ": " + e.what());
    }
  }
  const Shape& out = b.shape_of(s.last());
  if (out.ndim() != 1 || out[0] != classes)
    throw ConfigError("model.layers: the last layer must output " + std::to_string(classes) +
                      " class scores, got shape " + out.str());
  return b.finish();
}

}  // namespace frugal
