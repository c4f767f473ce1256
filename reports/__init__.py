"""Reports: the weekly sentiment report and alerts, built from the store."""
