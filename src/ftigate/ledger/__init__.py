"""ftigate.ledger"""
