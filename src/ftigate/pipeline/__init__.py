"""The `process` pipeline, one module per stage as the README and DESIGN.md name them:

    intake    the request file read once, its chunks shared by screening and resolution
    screen    L1-L4 on the letter and R1-R5 per record, before any taxpayer record is read
    resolve   the taxpayer file prepared beside screening; sufficient records scored
    decide    the hard gates: disclose, refuse or review, and the last known address
    respond   the four outputs assembled, summarised and written as one set
    run       the stages in order (`run_process`), and a batch recorded in the ledger as
              each happens (`record_batch`), shared by `ftigate process` and the service

Nothing here parses arguments, prints or picks exit codes: that is the CLI's.
"""
