# Writes OUT = a "generated" banner + IN (+ IN2): used by the kiln-docs target.
file(READ ${IN} body)
if(IN2)
  file(READ ${IN2} body2)
  string(APPEND body "\n" ${body2})
endif()
file(WRITE ${OUT} "<!-- Generated from ODS by mlir-tblgen; regenerate with: ninja -C build kiln-docs -->\n${body}")
