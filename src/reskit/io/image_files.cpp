#include "reskit/io/image_files.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "reskit/core/error.h"

namespace reskit::io {

bool is_image_name(const std::filesystem::path& path) {
  static const std::set<std::string> kExtensions = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"};
  std::string ext = path.extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return kExtensions.count(ext) > 0;
}

std::vector<std::string> list_images(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) throw Error("'" + dir + "' is not a directory");
  std::vector<std::string> images;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_regular_file(ec) && is_image_name(it->path())) images.push_back(it->path().string());
  if (ec) throw Error("'" + dir + "': cannot list the directory: " + ec.message());
  std::sort(images.begin(), images.end());
  if (images.empty()) throw Error("'" + dir + "': no images in the directory");
  return images;
}

}  // namespace reskit::io
