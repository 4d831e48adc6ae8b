"""ftigate.web"""
