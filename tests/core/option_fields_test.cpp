// Options written once (core/option_fields.h): one declaration gives the
// specs, their defaults and docs, and the typed struct a builder receives.
#include <gtest/gtest.h>

#include "reskit/core/option_fields.h"
#include "reskit/core/options_json.h"

namespace reskit {
namespace {

enum class Colour { kRed, kGreen };
const std::vector<std::pair<Colour, const char*>>& reskit_enum_names(Colour) {
  static const std::vector<std::pair<Colour, const char*>> names = {{Colour::kRed, "red"}, {Colour::kGreen, "green"}};
  return names;
}

struct Inner {
#define RESKIT_FIELDS(X)                      \
  X(int64_t, depth, 50, "how deep")           \
  X(IntListList, groups, (IntListList{{1, 0}, {1}}), "nested lists")
  RESKIT_OPTIONS(RESKIT_FIELDS)
#undef RESKIT_FIELDS
};

struct Outer {
#define RESKIT_FIELDS(X)                                                 \
  X(double, ratio, 0.5, "a float")                                       \
  X(std::string, label, "x", "a word")                                   \
  X(Colour, colour, Colour::kGreen, "an enum")                           \
  X(std::vector<bool>, flags, (std::vector<bool>{false, true}), "0/1")   \
  X(Inner, inner, Inner().depth(18), "nested")
  RESKIT_OPTIONS(RESKIT_FIELDS)
#undef RESKIT_FIELDS
};

struct Extended : Outer {
#define RESKIT_FIELDS(X) X(bool, features, false, "added by a derived struct")
  RESKIT_OPTIONS_EXTENDING(Outer, RESKIT_FIELDS)
#undef RESKIT_FIELDS
};

TEST(OptionFields, SpecsComeFromTheDeclarationWithThePresetsValues) {
  const std::vector<OptionSpec> specs = option_specs(Outer());
  std::vector<std::string> names;
  for (const OptionSpec& s : specs) names.push_back(s.name);
  EXPECT_EQ(names, (std::vector<std::string>{"ratio", "label", "colour", "flags", "inner.depth", "inner.groups"}));
  EXPECT_EQ(specs[0].type, OptionType::kFloat);
  EXPECT_EQ(std::get<double>(specs[0].default_value), 0.5);
  EXPECT_EQ(specs[1].doc, "a word");
  EXPECT_EQ(specs[2].type, OptionType::kString);
  EXPECT_EQ(std::get<std::string>(specs[2].default_value), "green");
  EXPECT_EQ(specs[2].choices, (std::vector<std::string>{"red", "green"}));
  EXPECT_EQ(std::get<IntList>(specs[3].default_value), (IntList{0, 1}));
  EXPECT_EQ(std::get<int64_t>(specs[4].default_value), 18);  // the preset's, not Inner's own 50
  EXPECT_EQ(std::get<IntListList>(specs[5].default_value), (IntListList{{1, 0}, {1}}));
  // A preset is the same declaration with other values.
  EXPECT_EQ(std::get<int64_t>(option_specs(Outer().inner(Inner().depth(101)))[4].default_value), 101);
}

TEST(OptionFields, ReadOptionsFillsTheTypedStruct) {
  Options o("outer", option_specs(Outer()));
  o.set_from_assignment("ratio=0.25");
  o.set_from_assignment("colour=red");
  o.set_from_assignment("flags=1,1,0");
  o.set_from_assignment("inner.depth=34");
  o.set_from_assignment("inner.groups=1/0,0");
  Outer read;
  read_options(o, read);
  EXPECT_EQ(read.ratio(), 0.25);
  EXPECT_EQ(read.label(), "x");
  EXPECT_EQ(read.colour(), Colour::kRed);
  EXPECT_EQ(read.flags(), (std::vector<bool>{true, true, false}));
  EXPECT_EQ(read.inner().depth(), 34);
  EXPECT_EQ(read.inner().groups(), (IntListList{{1}, {0, 0}}));
}

TEST(OptionFields, BadValuesAreOneLineErrorsNamingTheOption) {
  Options o("outer", option_specs(Outer()));
  EXPECT_THROW(o.set_from_assignment("colour=blue"), Error);
  try {
    o.set_from_assignment("colour=blue");
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "outer: option 'colour' expects one of red|green, got 'blue'");
  }
  o.set_from_assignment("flags=0,2");
  Outer read;
  try {
    read_options(o, read);
    FAIL() << "a flag of 2 was accepted";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "outer: option 'flags' takes 0 or 1 per entry, got 2");
  }
  try {
    o.set_from_assignment("inner.width=3");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("outer: unknown option 'inner.width' (options: ratio, label, ", 0), 0u);
  }
}

// Found by tests/fuzz/fuzz_options.cpp: a string option that is not UTF-8
// made the JSON of the options (sidecars) throw outside reskit::Error.
TEST(OptionFields, StringOptionsAreUtf8) {
  Options o("outer", option_specs(Outer()));
  try {
    o.set_from_assignment("label=y\xff\xff");
    FAIL() << "invalid UTF-8 was accepted";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "outer: option 'label' expects UTF-8 text, got '(not UTF-8)'");
  }
  for (const char* bad : {"\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82"})
    EXPECT_THROW(o.set_from_text("label", bad), Error) << bad;
  o.set_from_text("label", "gr\xc3\xbc\xc3\x9f" "e \xe2\x82\xac \xf0\x9f\x98\x80");  // "grüße € 😀"
  EXPECT_NE(options_to_json(o).find("gr\xc3\xbc"), std::string::npos);
}

TEST(OptionFields, ExtendingStructsListTheBaseFirst) {
  const std::vector<OptionSpec> specs = option_specs(Extended());
  ASSERT_EQ(specs.size(), 7u);
  EXPECT_EQ(specs.back().name, "features");
  Options o("extended", specs);
  o.set_from_assignment("features=true");
  o.set_from_assignment("ratio=2");
  Extended read;
  read_options(o, read);
  EXPECT_TRUE(read.features());
  EXPECT_EQ(read.ratio(), 2.0);
}

}  // namespace
}  // namespace reskit
