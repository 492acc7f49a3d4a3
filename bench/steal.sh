# Sourced by the bench scripts. On a virtual machine the hypervisor may run other guests on our cores ("steal"):
# a window with much steal measures the neighbours, not Ferry. `steal_mark` before a measured window, `steal_report`
# after it prints the share of CPU time stolen in between, from /proc/stat (0 % on bare metal).
steal_mark() { read -r _ STEAL_U STEAL_N STEAL_S STEAL_I STEAL_W STEAL_Q STEAL_SQ STEAL_ST _ < /proc/stat; }
steal_report() {
  local u n s i w q sq st
  read -r _ u n s i w q sq st _ < /proc/stat
  local total=$(( (u + n + s + i + w + q + sq + st) - (STEAL_U + STEAL_N + STEAL_S + STEAL_I + STEAL_W + STEAL_Q + STEAL_SQ + STEAL_ST) ))
  [ "$total" -gt 0 ] || total=1
  echo "    cpu stolen by the hypervisor during the window: $(( 100 * (st - STEAL_ST) / total )) % (figures from a window with much steal are not comparable)"
}
