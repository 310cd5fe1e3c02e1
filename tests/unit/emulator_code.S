/* SPDX-License-Identifier: MIT */
/*
 * Traversal functions for tests/unit/test_emulator.c: x86-64 code the unit
 * test copies into a mock target and runs in the emulator, never on the
 * host (it sits in .rodata).  Each starts on a 64-byte boundary, at
 * pcc_emu_test_code + 64 * N in the order of enum test_fn there.  The
 * calling convention is tp_traverse's: fn(obj, visit, arg).
 */
	.intel_syntax noprefix
	.section .rodata
	.globl pcc_emu_test_code, pcc_emu_test_code_end
	.p2align 6
pcc_emu_test_code:
visit_two:
	push rbx
	push r12
	push r13
	mov rbx, rdi
	mov r12, rsi
	mov r13, rdx
	mov rdi, [rbx+16]
	mov rsi, r13
	call r12
	test eax, eax
	jnz 1f
	mov rdi, [rbx+24]
	mov rsi, r13
	call r12
1:
	pop r13
	pop r12
	pop rbx
	ret
	.p2align 6
loop_forever:
	jmp loop_forever
	.p2align 6
do_syscall:
	mov eax, 39
	syscall
	ret
	.p2align 6
jump_away:
	movabs rax, 0xdead0000
	jmp rax
	.p2align 6
write_obj:
	mov [rdi], rdi
	xor eax, eax
	ret
	.p2align 6
invalid:
	ud2
	.p2align 6
visit_many:
	push rbx
	push r12
	push r13
	mov rbx, rdi
	mov r12, rsi
	mov r13d, 2000000
2:
	mov rdi, rbx
	call r12
	test eax, eax
	jnz 3f
	dec r13d
	jnz 2b
3:
	pop r13
	pop r12
	pop rbx
	ret
	.p2align 6
clobber:
	push rdx
	mov rdi, [rdi+16]
	call rsi
	pop rdx
	xor ebx, ebx
	xor r12d, r12d
	xor r15d, r15d
	xor eax, eax
	ret
	.p2align 6
read_unmapped:
	mov rax, [0x12345678]
	ret
	.p2align 6
return_error:
	mov eax, 5
	ret
	.p2align 6
canary:
	mov rax, fs:0x28
	push rax
	sub rsp, 8
	mov rdi, [rdi+16]
	call rsi
	add rsp, 8
	pop rcx
	xor rcx, fs:0x28
	jnz 4f
	ret
4:
	ud2
	.p2align 6
corrupt:
	mov rax, rsp
	and rax, -0x1000000
	mov qword ptr [rax+0x1000+24], 0x1234
	xor eax, eax
	ret
	.p2align 6
evex:
	.byte 0x62, 0xe1, 0xfe, 0x28, 0x6f, 0x0f
	ret
	.p2align 6
pcc_emu_test_code_end:
	.section .note.GNU-stack,"",@progbits
