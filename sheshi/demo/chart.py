"""The demo group's chart of accounts: (code, name, type, kind, parent, role, intercompany, ic_pair)."""

GROUP_CHART = [
    ("1000", "Assets", "asset", "group", None, "", False, None),
    ("1100", "Cash and bank", "asset", "posting", "1000", "", False, None),
    ("1200", "Trade receivables", "asset", "posting", "1000", "", False, None),
    ("1250", "Intercompany receivables", "asset", "posting", "1000", "", True, "2250"),
    ("1300", "Inventory", "asset", "posting", "1000", "", False, None),
    ("1500", "Property, plant and equipment", "asset", "posting", "1000", "", False, None),
    ("1600", "Investment in subsidiaries", "asset", "posting", "1000", "investment", True, None),
    ("1700", "Goodwill", "asset", "posting", "1000", "goodwill", False, None),
    ("2000", "Liabilities", "liability", "group", None, "", False, None),
    ("2100", "Trade payables", "liability", "posting", "2000", "", False, None),
    ("2250", "Intercompany payables", "liability", "posting", "2000", "", True, "1250"),
    ("2300", "Accrued expenses", "liability", "posting", "2000", "", False, None),
    ("2400", "Bank loans", "liability", "posting", "2000", "", False, None),
    ("3000", "Equity", "equity", "group", None, "", False, None),
    ("3100", "Share capital", "equity", "posting", "3000", "share_capital", False, None),
    ("3200", "Retained earnings", "equity", "posting", "3000", "retained_earnings", False, None),
    ("3300", "Dividends declared", "equity", "posting", "3000", "dividends", False, None),
    ("3400", "Cumulative translation adjustment", "equity", "posting", "3000", "cta", False, None),
    ("3500", "Non-controlling interest", "equity", "posting", "3000", "nci", False, None),
    ("4000", "Revenue", "revenue", "group", None, "", False, None),
    ("4100", "Sales", "revenue", "posting", "4000", "", False, None),
    ("4200", "Intercompany sales", "revenue", "posting", "4000", "", True, "5200"),
    ("4300", "Dividend income", "revenue", "posting", "4000", "", True, "3300"),
    ("5000", "Expenses", "expense", "group", None, "", False, None),
    ("5100", "Cost of sales", "expense", "posting", "5000", "", False, None),
    ("5200", "Intercompany purchases", "expense", "posting", "5000", "", True, "4200"),
    ("5300", "Salaries and wages", "expense", "posting", "5000", "", False, None),
    ("5400", "Rent and utilities", "expense", "posting", "5000", "", False, None),
    ("5500", "Depreciation", "expense", "posting", "5000", "", False, None),
    ("5900", "Profit attributable to NCI", "expense", "posting", "5000", "nci_profit", False, None),
]

# Sheshi UK Ltd keeps its books in Sage 50 on the UK default nominal codes: (local code, local
# name, group account). Some codes collide with group codes of another meaning (1100, 1200): the
# entity's mapping decides, which is the point of mapping local charts to the group chart.
UK_LOCAL_CHART = [
    ("0030", "Office Equipment", "1500"),
    ("0031", "Office Equipment Depreciation", "1500"),
    ("0100", "Investment in Sheshi France SAS", "1600"),
    ("1001", "Stock", "1300"),
    ("1100", "Debtors Control Account", "1200"),
    ("1200", "Bank Current Account", "1100"),
    ("2100", "Creditors Control Account", "2100"),
    ("2109", "Accruals", "2300"),
    ("2350", "Intercompany Creditor - Sheshi Holding", "2250"),
    ("3000", "Ordinary Shares", "3100"),
    ("4000", "Sales Type A", "4100"),
    ("5000", "Materials Purchased", "5100"),
    ("7000", "Gross Wages", "5300"),
    ("7100", "Rent and Rates", "5400"),
    ("7650", "Group Management Charges", "5200"),
    ("8000", "Depreciation", "5500"),
]
# The local code the UK books use for a group account; depreciation is credited to 0031.
UK_CODE_FOR = {group: local for local, _name, group in reversed(UK_LOCAL_CHART) if local != "0031"}
UK_DEPRECIATION_CREDIT = "0031"
