#include "projections/view_csv.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace accountable {
namespace {

Timestamp at(std::string_view text) { return parse_timestamp(text).value(); }

PriceRow row(std::string id, std::string name, int64_t list, int64_t erp) {
  PriceRow r;
  r.change_code = ChangeCode::kChg;
  r.valid_from = at("2026-03-01T00:00:00.000000Z");
  r.valid_to = at("2026-03-31T23:59:59.000000Z");
  r.offer_display_name = std::move(name);
  r.offer_id = std::move(id);
  r.license_agreement_type = LicenseAgreementType::kCorporate;
  r.purchase_unit = "1 Month";
  r.secondary_license_type = SecondaryLicenseType::kNonSpecific;
  r.end_customer_type = EndCustomerType::kCorporate;
  r.list_price_micros = list;
  r.erp_price_micros = erp;
  return r;
}

std::vector<std::string> lines(const std::string& csv) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t end; (end = csv.find("\r\n", start)) != std::string::npos; start = end + 2) {
    out.push_back(csv.substr(start, end - start));
  }
  EXPECT_EQ(start, csv.size()) << "the last line ends with CRLF";
  return out;
}

TEST(DecimalFromMicros, TwoToSixDecimalsWithoutTrailingZeros) {
  EXPECT_EQ(decimal_from_micros(0), "0.00");
  EXPECT_EQ(decimal_from_micros(10'500'000), "10.50");
  EXPECT_EQ(decimal_from_micros(10'000'000), "10.00");
  EXPECT_EQ(decimal_from_micros(1'234'567), "1.234567");
  EXPECT_EQ(decimal_from_micros(1'230'000), "1.23");
  EXPECT_EQ(decimal_from_micros(1'230'400), "1.2304");
  EXPECT_EQ(decimal_from_micros(-1), "-0.000001");
  EXPECT_EQ(decimal_from_micros(INT64_MIN), "-9223372036854.775808");
}

TEST(PriceListsCsv, BomHeaderInTheVendorsOrderAndOneRowPerPrice) {
  PriceListView list;
  list.list.market = "US";
  list.list.currency = "USD";
  list.list.year = 2026;
  list.list.month = 3;
  list.list.billing_model = BillingModel::kLicenseBased;
  list.rows = {row("azure-plan", "Azure plan", 10'500'000, 12'000'000),
               row("m365-e3", "Microsoft 365 E3, \"annual\"", 32'000'000, 36'000'000)};
  const std::string csv = price_lists_csv({list});
  ASSERT_EQ(csv.rfind("\xEF\xBB\xBF", 0), 0u) << "UTF-8 byte order mark first";
  const auto l = lines(csv.substr(3));
  ASSERT_EQ(l.size(), 3u);
  EXPECT_EQ(l[0],
            "Change Code,Valid From,Valid To,Offer Display Name,Offer ID,License Agreement Type,Purchase Unit,"
            "Secondary License Type,End Customer Type,List Price,ERP Price,Market,Currency,Month,Billing Model");
  EXPECT_EQ(l[1],
            "CHG,2026-03-01T00:00:00.000000Z,2026-03-31T23:59:59.000000Z,Azure plan,azure-plan,corporate,1 Month,non_specific,"
            "corporate,10.50,12.00,US,USD,2026-03,license_based");
  // A comma or a quote: the cell is quoted and its quotes doubled (RFC 4180).
  EXPECT_NE(l[2].find(",\"Microsoft 365 E3, \"\"annual\"\"\",m365-e3,"), std::string::npos) << l[2];
  EXPECT_EQ(lines(price_lists_csv({}).substr(3)).size(), 1u) << "no list: the header alone";
}

TEST(PriceListsCsv, AFormulaInATextCellIsWrittenAsText) {
  PriceListView list;
  list.list.market = "US";
  list.list.currency = "USD";
  list.rows = {row("x", "=HYPERLINK(\"http://evil.example\",\"click\")", 1, 1), row("y", "@SUM(A1)", 1, 1),
               row("z", "-2+3", 1, 1), row("w", "+1", -5, 1)};
  const auto l = lines(price_lists_csv({list}).substr(3));
  ASSERT_EQ(l.size(), 5u);
  EXPECT_NE(l[1].find(",\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"click\"\")\",x,"), std::string::npos) << l[1];
  EXPECT_NE(l[2].find(",'@SUM(A1),y,"), std::string::npos) << l[2];
  EXPECT_NE(l[3].find(",'-2+3,z,"), std::string::npos) << l[3];
  // A negative price stays a number.
  EXPECT_NE(l[4].find(",'+1,w,corporate,1 Month,non_specific,corporate,-0.000005,0.000001,"), std::string::npos)
      << l[4];
}

TEST(PriceDiffCsv, AddedChangedAndRemovedWithThePricesBeforeAndAfter) {
  PriceDiff d;
  d.market = "US";
  d.currency = "USD";
  d.from = {2026, 2};
  d.to = {2026, 3};
  d.added = {row("new", "New offer", 5'000'000, 6'000'000)};
  d.changed = {PriceChange{row("chg", "Changed", 10'000'000, 11'000'000), row("chg", "Changed", 9'000'000, 10'000'000)}};
  d.removed = {row("gone", "Gone", 7'000'000, 8'000'000)};
  const auto l = lines(price_diff_csv(d).substr(3));
  ASSERT_EQ(l.size(), 4u);
  EXPECT_EQ(l[0],
            "Difference,Offer Display Name,Offer ID,License Agreement Type,Purchase Unit,Secondary License Type,"
            "End Customer Type,List Price Before,List Price After,ERP Price Before,ERP Price After,Valid From,"
            "Valid To,Market,Currency,From Month,To Month");
  EXPECT_EQ(l[1],
            "added,New offer,new,corporate,1 Month,non_specific,corporate,,5.00,,6.00,2026-03-01T00:00:00.000000Z,"
            "2026-03-31T23:59:59.000000Z,US,USD,2026-02,2026-03");
  EXPECT_NE(l[2].find("changed,Changed,chg,corporate,1 Month,non_specific,corporate,10.00,9.00,11.00,10.00,"),
            std::string::npos)
      << l[2];
  EXPECT_NE(l[3].find("removed,Gone,gone,corporate,1 Month,non_specific,corporate,7.00,,8.00,,"), std::string::npos)
      << l[3];
}

}  // namespace
}  // namespace accountable
