// The PNG writer of the pattern pictures (Viz.h) over renderPatternImage (VizRender.cpp).
#include "permjit/patterns/Viz.h"

#include <fmt/format.h>
#include <png.h>

#include "permjit/dsl/Error.h"

namespace permjit::patterns {

VizResult writePatternPng(const Pattern& pattern, const CompileOptions& plan,
                          const std::string& path, const VizOptions& options) {
  VizImage rendered = renderPatternImage(pattern, plan, options);
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  image.width = static_cast<png_uint_32>(rendered.info.width);
  image.height = static_cast<png_uint_32>(rendered.info.height);
  image.format = PNG_FORMAT_RGB;
  if (!png_image_write_to_file(&image, path.c_str(), 0, rendered.rgb.data(),
                               rendered.info.width * 3, nullptr)) {
    std::string why = image.message;
    png_image_free(&image);
    throw Error(ErrorCategory::kIo, fmt::format("{}: cannot write PNG: {}", path, why));
  }
  return rendered.info;
}

}  // namespace permjit::patterns
