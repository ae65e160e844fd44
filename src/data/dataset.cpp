// Dataset storage and batch gathering.
#include "data/dataset.hpp"

#include <algorithm>
#include <utility>

#include "core/error.hpp"

namespace tinycnn::data {

namespace {
// (p / 255 - mean) / std as one multiply-add per pixel, per channel.
struct ChannelMap {
  std::vector<float> scale, shift;
  ChannelMap(const Normalization& norm, int64_t channels, const std::string& source) {
    const auto n = static_cast<size_t>(channels);
    TCNN_CHECK((norm.mean.size() == 1 || norm.mean.size() == n) &&
                   (norm.stddev.size() == 1 || norm.stddev.size() == n),
               "normalize: expected one mean and std, or one per channel (", channels, ") of ",
               source, ", got ", norm.mean.size(), " and ", norm.stddev.size());
    for (size_t c = 0; c < n; ++c) {
      const double mean = norm.mean[norm.mean.size() == 1 ? 0 : c];
      const double stddev = norm.stddev[norm.stddev.size() == 1 ? 0 : c];
      scale.push_back(static_cast<float>(1.0 / (255.0 * stddev)));
      shift.push_back(static_cast<float>(-mean / stddev));
    }
  }
};

// A draw for (seed, epoch, example): splitmix64 of their mix, so no state is shared between
// examples, threads or processes.
uint64_t mix(uint64_t seed, int64_t epoch, int64_t example) {
  uint64_t z = seed ^ (static_cast<uint64_t>(epoch) * 0x9E3779B97F4A7C15ULL) ^
               (static_cast<uint64_t>(example) * 0xD1B54A32D192ED03ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}
struct ImageDims {
  int64_t channels = 0, height = 0, width = 0;
  int64_t plane() const { return height * width; }
  int64_t numel() const { return channels * plane(); }
};

void normalize_image(const ImageDims& d, const uint8_t* src, const ChannelMap& map, float* dst) {
  const int64_t plane = d.plane();
  for (int64_t c = 0; c < d.channels; ++c) {
    const float scale = map.scale[static_cast<size_t>(c)];
    const float shift = map.shift[static_cast<size_t>(c)];
    for (int64_t p = 0; p < plane; ++p) {
      dst[c * plane + p] = static_cast<float>(src[c * plane + p]) * scale + shift;
    }
  }
}

// Where example `i`'s crop of the zero-padded image starts (dy, dx in [0, 2 pad]) in `epoch`,
// and whether it is flipped.
struct Crop {
  int64_t pad = 0, dy = 0, dx = 0;
  bool flip = false;
};

Crop crop_of(const Augment& augment, int64_t epoch, int64_t i) {
  const uint64_t draw = mix(augment.seed, epoch, i);
  const int64_t pad = augment.crop_padding;
  const auto span = static_cast<uint64_t>(2 * pad + 1);
  return {.pad = pad,
          .dy = pad > 0 ? static_cast<int64_t>(draw % span) : 0,
          .dx = pad > 0 ? static_cast<int64_t>((draw >> 16) % span) : 0,
          .flip = augment.horizontal_flip && ((draw >> 40) & 1)};
}

// Example `i`'s Cutout square in `epoch`: rows [y0, y1) and columns [x0, x1), clipped to the
// image. Its own stream of draws, so the crop and flip stay what they were without it.
struct Square {
  int64_t y0 = 0, y1 = 0, x0 = 0, x1 = 0;
};
constexpr uint64_t kCutoutStream = 0x632D6F75742D3031ULL;

Square cutout_of(const Augment& augment, const ImageDims& d, int64_t epoch, int64_t i) {
  if (augment.cutout <= 0) return {};
  const uint64_t draw = mix(augment.seed ^ kCutoutStream, epoch, i);
  const auto cy = static_cast<int64_t>((draw & 0xFFFFFFFFULL) % static_cast<uint64_t>(d.height));
  const auto cx = static_cast<int64_t>((draw >> 32) % static_cast<uint64_t>(d.width));
  const int64_t y0 = cy - augment.cutout / 2, x0 = cx - augment.cutout / 2;
  return {.y0 = std::max<int64_t>(y0, 0),
          .y1 = std::min(y0 + augment.cutout, d.height),
          .x0 = std::max<int64_t>(x0, 0),
          .x1 = std::min(x0 + augment.cutout, d.width)};
}

// Mixup: dst = lambda * dst + (1 - lambda) * partner; CutMix: the partner's box into dst.
void mix_images(const ImageDims& d, const MixDraw& m, const float* partner, float* dst) {
  if (!m.cutmix) {
    const auto own = static_cast<float>(m.lambda), other = static_cast<float>(1.0 - m.lambda);
    for (int64_t j = 0; j < d.numel(); ++j) dst[j] = own * dst[j] + other * partner[j];
    return;
  }
  for (int64_t c = 0; c < d.channels; ++c) {
    for (int64_t y = m.y0; y < m.y1; ++y) {
      const int64_t row = c * d.plane() + y * d.width;
      std::copy(partner + row + m.x0, partner + row + m.x1, dst + row + m.x0);
    }
  }
}

void erase(const ImageDims& d, const Square& s, float* dst) {
  for (int64_t c = 0; c < d.channels; ++c) {
    for (int64_t y = s.y0; y < s.y1; ++y) {
      float* row = dst + c * d.plane() + y * d.width;
      std::fill(row + s.x0, row + s.x1, 0.0f);
    }
  }
}

// The crop, then the flip: out(y, x) reads src(y + dy - pad, x' + dx - pad) with x' = W - 1 - x
// when flipped; black (the shift of 0) outside the image.
void augment_image(const ImageDims& d, const uint8_t* src, const ChannelMap& map, const Crop& k,
                   float* dst) {
  const int64_t plane = d.plane(), width = d.width;
  // Per output row: the run of x whose source column lies inside the image (sx = x + dx - pad,
  // mirrored when flipped); outside it the padding's black.
  const int64_t x_lo = std::clamp<int64_t>(k.pad - k.dx, 0, width);
  const int64_t x_hi = std::clamp<int64_t>(width + k.pad - k.dx, 0, width);
  for (int64_t c = 0; c < d.channels; ++c) {
    const float scale = map.scale[static_cast<size_t>(c)];
    const float shift = map.shift[static_cast<size_t>(c)];
    for (int64_t y = 0; y < d.height; ++y) {
      float* row = dst + c * plane + y * width;
      const int64_t sy = y + k.dy - k.pad;
      std::fill(row, row + width, shift);
      if (sy < 0 || sy >= d.height || x_lo >= x_hi) continue;
      // Unflipped: row[x] = in[x + dx - pad] for x in [x_lo, x_hi). Flipped, the crop's row is
      // reversed: row[x] = crop[W - 1 - x].
      // (restrict: bytes may alias floats, which would keep these loops scalar)
      float* __restrict out = k.flip ? row + width - x_hi : row + x_lo;
      const uint8_t* __restrict from = src + c * plane + sy * width + x_lo + k.dx - k.pad;
      const int64_t run = x_hi - x_lo;
      if (k.flip) {
        for (int64_t j = 0; j < run; ++j)
          out[run - 1 - j] = static_cast<float>(from[j]) * scale + shift;
      } else {
        for (int64_t j = 0; j < run; ++j) out[j] = static_cast<float>(from[j]) * scale + shift;
      }
    }
  }
}
}  // namespace

Dataset::Dataset(std::string source, int64_t channels, int64_t height, int64_t width,
                 std::vector<uint8_t> pixels, std::vector<int32_t> labels,
                 std::vector<std::string> classes)
    : source_(std::move(source)),
      count_(static_cast<int64_t>(labels.size())),
      channels_(channels),
      height_(height),
      width_(width),
      pixels_(std::move(pixels)),
      labels_(std::move(labels)),
      classes_(std::move(classes)) {
  TCNN_CHECK_RUNTIME(channels_ > 0 && height_ > 0 && width_ > 0, source_,
                     ": expected images of at least 1x1 pixels and 1 channel, got ", channels_, "x",
                     height_, "x", width_);
  TCNN_CHECK_RUNTIME(count_ > 0, source_, ": holds no examples");
  TCNN_CHECK_RUNTIME(static_cast<int64_t>(pixels_.size()) == count_ * image_bytes(), source_, ": ",
                     pixels_.size(), " pixel bytes for ", count_, " images of ", channels_, "x",
                     height_, "x", width_);
}

void Dataset::keep_first(int64_t n) {
  if (n <= 0 || n >= count_) return;
  count_ = n;
  pixels_.resize(static_cast<size_t>(n * image_bytes()));
  pixels_.shrink_to_fit();
  labels_.resize(static_cast<size_t>(n));
  labels_.shrink_to_fit();
}

void Dataset::check_labels(int64_t num_classes) const {
  for (int64_t i = 0; i < count_; ++i) {
    const int32_t l = labels_[static_cast<size_t>(i)];
    TCNN_CHECK_RUNTIME(l >= 0 && l < num_classes, source_, ": label ", i, " is ", l,
                       ", expected 0..", num_classes - 1, " (the model has ", num_classes,
                       " outputs)");
  }
}

void Dataset::gather(std::span<const int64_t> indices, const Normalization& norm,
                     tensor::Tensor& images, std::vector<int32_t>& labels) const {
  gather(indices, norm, Augment{}, 0, images, labels);
}

void Dataset::gather(std::span<const int64_t> indices, const Normalization& norm,
                     const Augment& augment, int64_t epoch, tensor::Tensor& images,
                     std::vector<int32_t>& labels, MixedLabels* mixed) const {
  const int64_t n = static_cast<int64_t>(indices.size());
  const ImageDims dims{.channels = channels_, .height = height_, .width = width_};
  const tensor::Shape shape({n, channels_, height_, width_});
  if (!images.defined() || images.shape() != shape) images = tensor::Tensor::empty(shape);
  labels.resize(static_cast<size_t>(n));
  const bool mixing = mixed != nullptr && augment.mixing.any();
  if (mixed) {
    mixed->other.resize(mixing ? static_cast<size_t>(n) : 0);
    mixed->lambda.resize(mixing ? static_cast<size_t>(n) : 0);
  }
  const ChannelMap map(norm, channels_, source_);
  // Example i as the augmentation makes it for this epoch.
  const auto render = [&](int64_t i, float* dst) {
    if (augment.any()) {
      augment_image(dims, image(i), map, crop_of(augment, epoch, i), dst);
      if (augment.cutout > 0) erase(dims, cutout_of(augment, dims, epoch, i), dst);
    } else {
      normalize_image(dims, image(i), map, dst);
    }
  };
  std::vector<float> partner(mixing ? static_cast<size_t>(dims.numel()) : 0);
  for (int64_t b = 0; b < n; ++b) {
    const int64_t i = indices[static_cast<size_t>(b)];
    TCNN_CHECK(i >= 0 && i < count_, "dataset index ", i, " out of range 0..", count_ - 1);
    labels[static_cast<size_t>(b)] = labels_[static_cast<size_t>(i)];
    float* dst = images.data() + b * dims.numel();
    render(i, dst);
    if (!mixing) continue;
    const MixDraw d = draw_mix(augment.mixing, augment.seed, epoch, i, count_, height_, width_);
    render(d.partner, partner.data());
    mix_images(dims, d, partner.data(), dst);
    mixed->other[static_cast<size_t>(b)] = labels_[static_cast<size_t>(d.partner)];
    mixed->lambda[static_cast<size_t>(b)] = static_cast<float>(d.lambda);
  }
}

}  // namespace tinycnn::data
