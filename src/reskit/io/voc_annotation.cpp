#include "reskit/io/voc_annotation.h"

#include <tinyxml2.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "reskit/core/error.h"

namespace reskit::io {
namespace {

// VOC's annotations are a few KB; tinyxml2's document takes up to ~30x its
// text, so the cap bounds what a hostile file costs to some tens of MB.
constexpr std::uintmax_t kMaxAnnotationBytes = 1u << 20;

const char* child_text(const tinyxml2::XMLElement* parent, const char* name) {
  const tinyxml2::XMLElement* child = parent->FirstChildElement(name);
  return child ? child->GetText() : nullptr;
}

double coordinate(const tinyxml2::XMLElement* box, const char* name, const std::string& source) {
  const char* text = child_text(box, name);
  if (!text) throw Error(source + ": an object's <bndbox> has no <" + name + ">");
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(text, &end);
  while (end && (*end == ' ' || *end == '\n' || *end == '\t' || *end == '\r')) ++end;
  if (end == text || (end && *end) || errno == ERANGE || !std::isfinite(v))
    throw Error(source + ": <" + name + "> is not a number: '" + std::string(text).substr(0, 40) + "'");
  return v;
}

}  // namespace

std::vector<VocObject> parse_voc_annotation(const std::string& xml, const std::string& source) {
  tinyxml2::XMLDocument doc;
  if (doc.Parse(xml.data(), xml.size()) != tinyxml2::XML_SUCCESS)
    throw Error(source + ": not a VOC annotation: " + std::string(doc.ErrorStr()).substr(0, 200));
  const tinyxml2::XMLElement* root = doc.FirstChildElement("annotation");
  if (!root) throw Error(source + ": not a VOC annotation: no <annotation> element");
  std::vector<VocObject> objects;
  for (const tinyxml2::XMLElement* obj = root->FirstChildElement("object"); obj;
       obj = obj->NextSiblingElement("object")) {
    VocObject o;
    const char* name = child_text(obj, "name");
    if (!name) throw Error(source + ": an <object> has no <name>");
    o.name = name;
    if (const char* difficult = child_text(obj, "difficult")) {
      char* end = nullptr;
      errno = 0;
      const long v = std::strtol(difficult, &end, 10);
      if (end == difficult || *end || errno == ERANGE)
        throw Error(source + ": <difficult> is not an integer: '" + std::string(difficult).substr(0, 40) + "'");
      o.difficult = v != 0;
    }
    const tinyxml2::XMLElement* box = obj->FirstChildElement("bndbox");
    if (!box) throw Error(source + ": object '" + o.name.substr(0, 40) + "' has no <bndbox>");
    o.xmin = coordinate(box, "xmin", source);
    o.ymin = coordinate(box, "ymin", source);
    o.xmax = coordinate(box, "xmax", source);
    o.ymax = coordinate(box, "ymax", source);
    objects.push_back(std::move(o));
  }
  return objects;
}

std::vector<VocObject> read_voc_annotation(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw Error("annotation '" + path + "' is not a readable file");
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) throw Error("annotation '" + path + "' cannot be read: " + ec.message());
  if (size > kMaxAnnotationBytes) throw Error("annotation '" + path + "' is larger than 1 MiB: not a VOC annotation");
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in && !in.eof()) throw Error("annotation '" + path + "' cannot be read");
  return parse_voc_annotation(text.str(), "annotation '" + path + "'");
}

}  // namespace reskit::io
