"""Participatory budgeting: residents share out a budget between bids (projects with
costs) by text message. A round takes bids, has them screened, puts them to a ballot and
counts it (:mod:`~bot.civic.budgeting.count`, with pabutools' rules: greedy by votes and
the Method of Equal Shares); its ballots travel in and out as Pabulib files
(:mod:`~bot.civic.budgeting.pabulib`)."""
