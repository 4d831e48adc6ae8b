"""ftigate.report"""
