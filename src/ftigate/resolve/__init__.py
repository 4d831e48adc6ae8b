"""ftigate.resolve"""
