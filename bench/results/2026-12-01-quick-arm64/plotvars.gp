# Written by bench-report: what bench/plot.gp draws from this directory.
configs = "memfd hugetlbfs mshare-anon mshare-tmpfs"
sizes = "64"
ns = "1 100 1500"
# the smallest positive and the largest median; 0: none
pt_total_kib_min = 4
pt_total_kib_max = 192000
exit_s_min = 0.00171261
exit_s_max = 2.22501
attach_write_ms_min = 2.65062
attach_write_ms_max = 15.1622
attach_read_ms_min = 2.34064
attach_read_ms_max = 13.5571
pt_all_kib_min = 4
pt_all_kib_max = 192004
