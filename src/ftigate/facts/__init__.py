"""One definition of each fact every stage reads: what a TIN, a ZIP, a name, an address
and a last known address are. Screening, resolution, the audit and the 2025 replica all
import these, so a court's count cannot depend on which command read the file."""
