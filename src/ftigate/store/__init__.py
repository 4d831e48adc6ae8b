"""ftigate.store"""
