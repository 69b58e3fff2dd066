// The public directory's free text becomes FTS5 terms that cannot carry FTS5
// syntax: words (letters, digits, UTF-8) quoted as prefix terms, all required.
#include "projections/listings_view.h"

#include <gtest/gtest.h>

namespace accountable {
namespace {

TEST(ListingsFtsQuery, WordsBecomeQuotedPrefixTermsAndSyntaxOnlySeparates) {
  EXPECT_EQ(fts_query_of("").value(), "");
  EXPECT_EQ(fts_query_of("  -- ( ) * ^ \" : ").value(), "");
  EXPECT_EQ(fts_query_of("cloud").value(), "\"cloud\"*");
  EXPECT_EQ(fts_query_of("Cloud migration").value(), "\"Cloud\"* \"migration\"*");
  EXPECT_EQ(fts_query_of("\"retail\" OR NEAR(x*").value(), "\"retail\"* \"OR\"* \"NEAR\"* \"x\"*");
  EXPECT_EQ(fts_query_of("co-op").value(), "\"co\"* \"op\"*");
  EXPECT_EQ(fts_query_of("東京 クラウド").value(), "\"東京\"* \"クラウド\"*");  // UTF-8 bytes stay in words
}

TEST(ListingsFtsQuery, TheFirstSixteenWordsAreSearched) {
  const std::string sixteen = fts_query_of("a b c d e f g h i j k l m n o p").value();
  EXPECT_EQ(sixteen.substr(sixteen.size() - 4), "\"p\"*");
  EXPECT_EQ(fts_query_of("a b c d e f g h i j k l m n o p q r").value(), sixteen);
}

}  // namespace
}  // namespace accountable
