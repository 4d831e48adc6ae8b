"""ftigate.audit"""
