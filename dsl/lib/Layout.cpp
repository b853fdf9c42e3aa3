#include <fmt/format.h>

#include <algorithm>

#include "permjit/dsl/Pattern.h"

namespace permjit {
namespace {

[[noreturn]] void fail(const std::string& message) {
  throw Error(ErrorCategory::kInvalidPattern, message);
}

void checkFrames(const Span& span, const std::string& field) {
  if (!span.frames) return;
  const FrameGeometry& f = *span.frames;
  if (f.frames < 1 || f.height < 1 || f.width < 1) {
    fail(fmt::format("{}.frames: frames, height and width must be >= 1, got {}x{}x{}", field,
                     f.frames, f.height, f.width));
  }
  int64_t len = span.end - span.begin;
  int64_t product = 0;
  bool overflow = __builtin_mul_overflow(f.frames, f.height, &product) ||
                  __builtin_mul_overflow(product, f.width, &product);
  if (overflow || product != len) {
    fail(fmt::format(
        "{}.frames: frames*height*width must equal the span length end-begin={}, got {}x{}x{}",
        field, len, f.frames, f.height, f.width));
  }
}

}  // namespace

Layout::Layout(std::vector<Span> spans) : spans_(std::move(spans)) {
  for (size_t i = 0; i < spans_.size(); ++i) {
    const Span& s = spans_[i];
    std::string field = fmt::format("layout.spans[{}]", i);
    int code = static_cast<int>(s.kind);
    if (code < 0 || code > 2) {
      fail(fmt::format("{}.kind: unknown modality code {}; allowed: vision, text, other", field,
                       code));
    }
    if (s.begin < 0) fail(fmt::format("{}.begin: must be >= 0, got {}", field, s.begin));
    if (s.end <= s.begin) {
      fail(fmt::format("{}.end: must be > begin={} (spans are non-empty), got {}", field, s.begin,
                       s.end));
    }
    if (i > 0 && s.begin < spans_[i - 1].end) {
      fail(fmt::format(
          "{}.begin: must be >= layout.spans[{}].end={} (spans are ordered and non-overlapping), "
          "got {}",
          field, i - 1, spans_[i - 1].end, s.begin));
    }
    checkFrames(s, field);
  }
}

void Layout::validate(int64_t seq_len) const {
  if (seq_len < 0) fail(fmt::format("seq_len: must be >= 0, got {}", seq_len));
  for (size_t i = 0; i < spans_.size(); ++i) {
    if (spans_[i].end > seq_len) {
      fail(fmt::format("layout.spans[{}].end: {} is past the end of the sequence (seq_len={})", i,
                       spans_[i].end, seq_len));
    }
  }
}

std::vector<Span> Layout::normalized(int64_t seq_len) const {
  validate(seq_len);
  std::vector<Span> out;
  int64_t pos = 0;
  for (const Span& s : spans_) {
    if (s.begin > pos) out.push_back(Span{Modality::kOther, pos, s.begin, std::nullopt});
    out.push_back(s);
    pos = s.end;
  }
  if (pos < seq_len) out.push_back(Span{Modality::kOther, pos, seq_len, std::nullopt});
  return out;
}

Modality Layout::modalityAt(int64_t pos, int64_t seq_len) const {
  if (pos < 0 || pos >= seq_len) {
    throw Error(ErrorCategory::kInvalidArgument,
                fmt::format("pos: must be in [0, seq_len={}), got {}", seq_len, pos));
  }
  // The last span starting at or before pos.
  auto it = std::upper_bound(spans_.begin(), spans_.end(), pos,
                             [](int64_t p, const Span& s) { return p < s.begin; });
  if (it == spans_.begin()) return Modality::kOther;
  --it;
  return pos < it->end ? it->kind : Modality::kOther;
}

int64_t Layout::localRank(int64_t pos, int64_t seq_len) const {
  Modality m = modalityAt(pos, seq_len);
  int64_t rank = 0;
  for (const Span& s : normalized(seq_len)) {
    if (s.begin > pos) break;
    if (s.kind == m) rank += std::min(pos, s.end) - s.begin;
  }
  return rank;
}

int64_t Layout::countOf(Modality m, int64_t seq_len) const {
  int64_t count = 0;
  for (const Span& s : normalized(seq_len)) {
    if (s.kind == m) count += s.end - s.begin;
  }
  return count;
}

std::string Layout::str() const {
  std::string out;
  for (const Span& s : spans_) {
    if (!out.empty()) out += ", ";
    out += fmt::format("{}[{}, {})", modalityName(s.kind), s.begin, s.end);
    if (s.frames) {
      out += fmt::format(" {}x{}x{}", s.frames->frames, s.frames->height, s.frames->width);
    }
  }
  return "layout(" + out + ")";
}

Layout Layout::textVisionText(int64_t seq_len, int64_t prefix, int64_t suffix) {
  if (prefix < 0) fail(fmt::format("layout.prefix: must be >= 0, got {}", prefix));
  if (suffix < 0) fail(fmt::format("layout.suffix: must be >= 0, got {}", suffix));
  if (prefix + suffix > seq_len) {
    fail(fmt::format("layout.prefix + layout.suffix: must be <= seq_len={}, got {} + {}", seq_len,
                     prefix, suffix));
  }
  std::vector<Span> spans;
  if (prefix > 0) spans.push_back(Span{Modality::kText, 0, prefix, std::nullopt});
  if (seq_len - suffix > prefix) {
    spans.push_back(Span{Modality::kVision, prefix, seq_len - suffix, std::nullopt});
  }
  if (suffix > 0) spans.push_back(Span{Modality::kText, seq_len - suffix, seq_len, std::nullopt});
  return Layout(std::move(spans));
}

}  // namespace permjit
