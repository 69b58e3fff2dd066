#include "aggregates/shared_map.h"

#include <gtest/gtest.h>

#include <cereal/archives/portable_binary.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/string.hpp>
#include <sstream>
#include <string>

#include "aggregates/partner.h"

namespace accountable {
namespace {

template <class T>
std::string bytes_of(const T& value) {
  std::ostringstream out;
  {
    cereal::PortableBinaryOutputArchive ar(out);
    ar(value);
  }
  return out.str();
}

TEST(SharedMap, CopiesShareUntilOneOfThemChanges) {
  SharedMap<std::string, int> a;
  a.set("x", 1);
  a.set("y", 2);
  SharedMap<std::string, int> b = a;
  EXPECT_TRUE(b.shares_with(a)) << "a copy is O(1)";

  b.set("z", 3);
  EXPECT_FALSE(b.shares_with(a));
  EXPECT_EQ(a.size(), 2u) << "the change went to b's own map";
  EXPECT_EQ(b.size(), 3u);
  EXPECT_EQ(b.at("z"), 3);
  EXPECT_EQ(a.count("z"), 0u);

  SharedMap<std::string, int> c = a;
  EXPECT_EQ(c.erase("missing"), 0u);
  EXPECT_TRUE(c.shares_with(a)) << "erasing nothing copies nothing";
  EXPECT_EQ(c.erase("x"), 1u);
  EXPECT_FALSE(c.shares_with(a));
  EXPECT_EQ(a.at("x"), 1);
  EXPECT_EQ(c.find("x"), c.end());

  // Sole owner: changed in place.
  SharedMap<std::string, int> d;
  d.set("k", 1);
  SharedMap<std::string, int> probe = d;
  probe = SharedMap<std::string, int>();  // drops its share
  d.set("k", 2);
  EXPECT_EQ(d.at("k"), 2);
}

TEST(SharedMap, EqualityIsByContentAndTheBytesAreTheStdMaps) {
  SharedMap<std::string, int> a, b;
  EXPECT_TRUE(a == b);
  a.set("x", 1);
  EXPECT_FALSE(a == b);
  b.set("x", 1);
  EXPECT_TRUE(a == b) << "two maps, same content";

  std::map<std::string, int> plain{{"x", 1}, {"y", 22}};
  a.set("y", 22);
  EXPECT_EQ(bytes_of(a), bytes_of(plain)) << "the snapshot format does not change";
  SharedMap<std::string, int> back;
  {
    std::istringstream in(bytes_of(plain));
    cereal::PortableBinaryInputArchive ar(in);
    ar(back);
  }
  EXPECT_TRUE(back == a);
  EXPECT_EQ(bytes_of(SharedMap<std::string, int>()), bytes_of(std::map<std::string, int>()));
}

// The reason it exists: a command's copy of the partner's state and the
// states evolved from it share the user directory until a directory event.
TEST(SharedMap, ThePartnersDirectoryIsSharedAcrossEventsThatDoNotChangeIt) {
  PartnerState s;
  s.users.set(UserId::random(), EmailFingerprint("fp-1"));
  const PartnerState copy = s;
  EXPECT_TRUE(copy.users.shares_with(s.users));
  const PartnerState pinned = evolve(copy, OfferPinned{"o-1"});
  EXPECT_TRUE(pinned.users.shares_with(s.users));
  const PartnerState added = evolve(copy, PartnerUserAdded{UserId::random(), EmailFingerprint("fp-2")});
  EXPECT_FALSE(added.users.shares_with(s.users));
  EXPECT_EQ(added.users.size(), 2u);
  EXPECT_EQ(s.users.size(), 1u);
}

}  // namespace
}  // namespace accountable
