"""A person's own data (PIPL): everything the platform holds on them as one JSON download,
and the deletion request that closes the account and anonymises what the law and the ledger
let go, keeping orders, payments and the ledger without names, phones or emails."""
