# SPDX-License-Identifier: MIT
# bash completion for axdp(8): commands, subcommands, options and their values.

_axdp()
{
	local cur prev words cword
	if declare -F _init_completion >/dev/null; then
		_init_completion || return
	else
		cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
		words=("${COMP_WORDS[@]}") cword=$COMP_CWORD
	fi

	local commands="status ports conntrack stats watch events top explain allow exclude trust block audit on off reload version help"
	local globals="--pin-dir --config --json --help --version"

	case $prev in
	-p | --pin-dir)
		COMPREPLY=($(compgen -d -- "$cur"))
		return
		;;
	-c | --config)
		COMPREPLY=($(compgen -f -- "$cur"))
		return
		;;
	--format)
		COMPREPLY=($(compgen -W "human json prometheus" -- "$cur"))
		return
		;;
	--interface)
		COMPREPLY=($(compgen -W "$(ls /sys/class/net 2>/dev/null)" -- "$cur"))
		return
		;;
	--flags)
		COMPREPLY=($(compgen -W "S A SA F FA R RA P PA" -- "$cur"))
		return
		;;
	--type)
		COMPREPLY=($(compgen -W "echo-request echo-reply" -- "$cur"))
		return
		;;
	--interval | --count | --limit | --timeout | --comment | --id | --for)
		return
		;;
	esac

	# The command is the first word that is neither an option nor an option's value.
	local i cmd= sub= nargs=0
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		-p | --pin-dir | -c | --config | --format | --interface | --interval | --count | --limit | --timeout | --comment | \
			--flags | --type | --id | --for)
			((i++))
			;;
		-*) ;;
		*)
			if [[ -z $cmd ]]; then
				cmd=${words[i]}
			else
				[[ -z $sub ]] && sub=${words[i]}
				((nargs++))
			fi
			;;
		esac
	done

	local opts=$globals
	case $cmd in
	conntrack) opts+=" --limit" ;;
	stats) opts+=" --rates --watch --interval --count --interface --format" ;;
	watch) opts+=" --interval --count --interface" ;;
	events) opts+=" --count --timeout" ;;
	top) opts+=" --interval --limit" ;;
	explain) opts+=" --flags --type --id --interface" ;;
	allow | exclude) opts+=" --comment" ;;
	trust) opts+=" --comment --force" ;;
	block) opts+=" --for --comment --force" ;;
	reload) opts+=" --force" ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
		return
	fi

	case $cmd in
	"")
		COMPREPLY=($(compgen -W "$commands" -- "$cur"))
		;;
	help)
		((nargs == 0)) && COMPREPLY=($(compgen -W "$commands" -- "$cur"))
		;;
	conntrack | explain)
		((nargs == 0)) && COMPREPLY=($(compgen -W "tcp udp icmp" -- "$cur"))
		;;
	audit)
		((nargs == 0)) && COMPREPLY=($(compgen -W "on off" -- "$cur"))
		;;
	block)
		if ((nargs == 0)); then
			COMPREPLY=($(compgen -W "add remove list import" -- "$cur"))
		elif ((nargs == 1)) && [[ $sub == import ]]; then
			COMPREPLY=($(compgen -f -- "$cur"))
		fi
		;;
	allow | exclude | trust)
		if ((nargs == 0)); then
			COMPREPLY=($(compgen -W "add remove list" -- "$cur"))
		elif ((nargs == 1)) && [[ $sub == add || $sub == remove ]]; then
			case $cmd in
			allow) COMPREPLY=($(compgen -W "tcp udp" -- "$cur")) ;;
			exclude) COMPREPLY=($(compgen -W "tcp udp bind" -- "$cur")) ;;
			esac
		fi
		;;
	esac
}
complete -F _axdp axdp
