#pragma once
// Which files of a directory are images, and in which order a sequence takes them.
#include <filesystem>
#include <string>
#include <vector>

namespace reskit::io {

// .jpg .jpeg .png .bmp .tif .tiff .webp, in any case.
bool is_image_name(const std::filesystem::path& path);

// The images of a directory, sorted by name; an unreadable or imageless
// directory is a one-line error naming it.
std::vector<std::string> list_images(const std::string& dir);

}  // namespace reskit::io
